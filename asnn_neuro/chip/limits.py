"""Every Loihi number range and bit width the toolchain relies on, in one cited table.

Code uses the named constants; ``TABLE`` lists each with its source, for docs and reports.
Sources (short names used below):

- ``lava-lif``: lava-nc 0.10.0, ``lava/proc/lif/models.py``, ``PyLifModelBitAcc`` (the
  bit-accurate Loihi LIF model: its ``LavaPyType`` precisions and shift constants);
- ``lava-dense``: lava-nc 0.10.0, ``lava/proc/dense/models.py`` and
  ``lava/utils/weightutils.py`` (8-bit weights, sign mode, weight exponent);
- ``lava-dl netx``: lava-dl 0.6.0, ``lava/lib/dl/netx/hdf5.py`` (how its loader reads NetX);
- ``lava-conv``: lava-nc 0.10.0, ``lava/proc/conv/models.py`` (fixed-point conv clamps its
  output to 24 bits);
- ``davies2018``: Davies et al., "Loihi: a neuromorphic manycore processor with on-chip
  learning", IEEE Micro 38(1), 2018 (24-bit state, 12-bit decays, up to 8-bit weights);
- ``ours``: a choice of this toolchain (the ASNN neuron is our own Loihi 2 program);
- ``nengo-loihi``: nengo-loihi 1.x, ``nengo_loihi/block.py`` (Loihi 1 per-core maxima used by its
  allocator: compartments, input and output axons, synapse bits);
- ``intel-brief``: Intel Labs, "Taking Neuromorphic Computing to the Next Level with Loihi 2",
  technology brief, 2021 (128 neuro cores per chip, up to 1M neurons and 120M synapses per chip);
- ``sana-fe``: SLAM-Lab/SANA-FE, ``arch/loihi.yaml`` (Boyle et al., "SANA-FE: Simulating Advanced
  Neuromorphic Architectures for Fast Exploration", 2023-2025): Loihi per-event energies
  calibrated against the chip, and its synapse layout (16 bits per synapse, 64-bit words);
- ``lava-dl-mnist``: lava-dl, ``tutorials/lava/lib/dl/netx/mnist/run.ipynb`` (2024), the Loihi 2
  compiler's printed per-core utilisation of a 784-128-64-10 network; a capacity is inferred as
  count / printed percentage (e.g. 64 neurons at 1.56 % -> about 4096);
- ``lava-dl-pilotnet``: lava-dl, ``tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb``
  (2023), Loihi 2 compiler log (``reg_name='SynMem' ... registers = 12000``) and the board's idle
  (static) power.

Each row carries a confidence: ``exact`` (read from source code or a register), ``public``
(stated in a paper or brief), ``measured`` (a published board measurement), ``inferred`` (our
arithmetic on published output or an assumption; the row says how).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- decays and fractions ----------------------------------------------------------------------
DECAY_BITS = 12                     # leak / gain / du / dv are 12-bit fractions: 4096 == 1.0
DECAY_ONE = 1 << DECAY_BITS
LIF_DS_OFFSET = 1                   # Loihi's current-decay offset register (voltage decay has none)

# --- neuron state ------------------------------------------------------------------------------
STATE_BITS = 12                     # fractional bits of the ASNN state: threshold 1.0 == 4096
STATE_ONE = 1 << STATE_BITS
STATE_LIMIT = (1 << 23) - 1         # 24-bit signed neuron state
LIF_MAX_UV = 1 << 23                # Lava LIF wraps the current and clips the voltage at 2**23
LIF_ACT_SHIFT = 6                   # synaptic input enters the current shifted left by 6
LIF_VTH_SHIFT = 6                   # threshold compared as vth << 6
LIF_VTH_MAX = (1 << 17) - 1         # vThMant: 17-bit unsigned mantissa
LIF_BIAS_MANT_MAX = 4095            # bias mantissa: 13-bit signed
LIF_BIAS_EXP_MAX = 7                # bias exponent: 3 bits
LIF_BIAS_MAX = 2 * LIF_BIAS_MANT_MAX  # largest bias in units of 1 << 6 (mantissa 4095 << 7 = 2 x (4095 << 6))
LIF_ACCUM_MAX = STATE_LIMIT >> LIF_ACT_SHIFT  # synaptic sum << 6 must stay inside the 24-bit current
ASNN_GAIN_BITS = 16                 # g[t] * 4096 as a 16-bit signed integer
ASNN_GAIN_LIMIT = ((1 << (ASNN_GAIN_BITS - 1)) - 1) / DECAY_ONE  # |g| <= 7.9998
ASNN_THRESHOLD_MAX = STATE_LIMIT    # threshold in state units, in (0, 2**23)

# --- synapses and messages ---------------------------------------------------------------------
WEIGHT_BITS_MIN, WEIGHT_BITS_MAX = 4, 8  # signed weight mantissa widths we quantise to
WEIGHT_STORE_BITS = 9               # weights are stored as mantissa << (9 - bits): in [-256, 254]
CONV_CLAMP = (1 << 23) - 1          # Lava's fixed-point conv clamps its output to 24 bits
GRADED_BITS = 8                     # analog pixels travel as 8-bit graded spike payloads
GRADED_LEVELS = (1 << GRADED_BITS) - 1  # x_q = round(255 x)
MAX_TIMESTEPS = 1024                # longest per-sample schedule: an ASNN leak/gain table, an encoded
                                    # image, a file's ``timesteps``; a streamed --input has no cap
AXON_DELAY_MAX = 62                 # lava-dl's loader clamps NetX delays to 0..62 steps (6-bit field)

# --- per-core resources (the partitioner, asnn_neuro/fit) ----------------------------------------
L1_CORES_PER_CHIP = 128             # Loihi 1: 128 neuro cores per chip
L1_NEURONS_PER_CORE = 1024          # compartments per core
L1_AXONS_IN_PER_CORE = 4096         # input (fan-in) axons per core
L1_AXONS_OUT_PER_CORE = 4096        # output (fan-out) axons per core
L1_SYNAPSE_BITS_PER_CORE = 1 << 20  # synaptic memory: 1,048,576 bits (128 KiB)
L1_SYNAPSE_BITS = 16                # one synapse: 8 weight bits, sign, delay and tag bits
L1_SYNAPSE_WORD_BITS = 64           # synapses are packed into 64-bit words (4 per word)
L2_CORES_PER_CHIP = 128             # Loihi 2: 128 neuro cores per chip
L2_NEURONS_PER_CORE_MAX = 8192      # the brief's maximum (1M neurons / 128 cores)
L2_NEURONS_PER_CORE = 4096          # what the compiler budgets for a CUBA neuron
L2_AXONS_IN_PER_CORE = 16000        # compiler's AxonIn capacity
L2_AXON_MAP_PER_CORE = 16000        # compiler's AxonMap (output routing) capacity
L2_NEURON_GROUPS_PER_CORE = 8       # compiler's NeuronGr capacity
L2_SYNMEM_WORDS_PER_CORE = 12000    # compiler's SynMem register budget
L2_SYNAPSE_BITS = 16                # assumed as on Loihi 1
L2_SYNAPSE_WORD_BITS = 64           # assumed as on Loihi 1
L2_STATIC_W_PER_CHIP = 0.232        # idle power of one Loihi 2 chip on the board


@dataclass(frozen=True)
class Limit:
    """One row of the table: a constant, what it bounds, and where the number comes from."""

    name: str
    value: float
    what: str
    source: str
    confidence: str = "exact"


TABLE: tuple[Limit, ...] = (
    Limit("DECAY_BITS", DECAY_BITS, "decay / leak / gain fraction bits", "lava-lif decay_shift; davies2018"),
    Limit("LIF_DS_OFFSET", LIF_DS_OFFSET, "current-decay offset register", "lava-lif ds_offset"),
    Limit("STATE_LIMIT", STATE_LIMIT, "largest neuron state (24-bit signed)", "lava-lif u, v precision 24; davies2018"),
    Limit("LIF_MAX_UV", LIF_MAX_UV, "LIF current wrap / voltage clip", "lava-lif max_uv_val"),
    Limit("LIF_ACT_SHIFT", LIF_ACT_SHIFT, "input shift into the LIF current", "lava-lif act_shift"),
    Limit("LIF_VTH_SHIFT", LIF_VTH_SHIFT, "threshold shift (vth << 6)", "lava-lif vth_shift"),
    Limit("LIF_VTH_MAX", LIF_VTH_MAX, "largest vThMant (17 bits)", "lava-lif vth precision 17"),
    Limit("LIF_BIAS_MANT_MAX", LIF_BIAS_MANT_MAX, "largest bias mantissa (13-bit signed)",
          "lava-lif bias_mant precision 13"),
    Limit("LIF_BIAS_EXP_MAX", LIF_BIAS_EXP_MAX, "largest bias exponent (3 bits)", "lava-lif bias_exp precision 3"),
    Limit("LIF_ACCUM_MAX", LIF_ACCUM_MAX, "largest synaptic sum that fits the current after << 6",
          "derived: STATE_LIMIT >> LIF_ACT_SHIFT"),
    Limit("ASNN_GAIN_LIMIT", ASNN_GAIN_LIMIT, "largest |g[t]| of an ASNN neuron (16-bit signed / 4096)", "ours"),
    Limit("STATE_BITS", STATE_BITS, "fractional bits of the ASNN state", "ours"),
    Limit("WEIGHT_BITS_MAX", WEIGHT_BITS_MAX, "widest weight mantissa", "lava-dense weights precision 8; davies2018"),
    Limit("WEIGHT_STORE_BITS", WEIGHT_STORE_BITS, "mixed-sign weights are stored shifted into 9 bits",
          "lava-dense truncate_weights (sign mode mixed)"),
    Limit("CONV_CLAMP", CONV_CLAMP, "fixed-point conv output clamp", "lava-conv clamp_precision"),
    Limit("MAX_TIMESTEPS", MAX_TIMESTEPS, "longest per-sample schedule (ASNN tables, encoded images)", "ours"),
    Limit("AXON_DELAY_MAX", AXON_DELAY_MAX, "largest synaptic (axonal) delay, time steps",
          "lava-dl netx hdf5.py create_dense clamps delays to 62; lava-dense DelayDense delays precision 6"),
    Limit("GRADED_BITS", GRADED_BITS, "payload bits of a graded input spike", "ours (Loihi 2 allows up to 24)"),
    # per-core resources: Loihi 1
    Limit("L1_CORES_PER_CHIP", L1_CORES_PER_CHIP, "Loihi 1 neuro cores per chip", "davies2018", "public"),
    Limit("L1_NEURONS_PER_CORE", L1_NEURONS_PER_CORE, "Loihi 1 compartments per core",
          "nengo-loihi MAX_COMPARTMENTS; davies2018", "exact"),
    Limit("L1_AXONS_IN_PER_CORE", L1_AXONS_IN_PER_CORE, "Loihi 1 input axons per core",
          "nengo-loihi MAX_IN_AXONS; davies2018", "exact"),
    Limit("L1_AXONS_OUT_PER_CORE", L1_AXONS_OUT_PER_CORE, "Loihi 1 output axons per core",
          "nengo-loihi MAX_OUT_AXONS; davies2018", "exact"),
    Limit("L1_SYNAPSE_BITS_PER_CORE", L1_SYNAPSE_BITS_PER_CORE, "Loihi 1 synaptic memory bits per core",
          "nengo-loihi MAX_SYNAPSE_BITS; davies2018 (128 KB)", "exact"),
    Limit("L1_SYNAPSE_BITS", L1_SYNAPSE_BITS, "bits one stored synapse takes (8-bit weight, sign, delay, tag)",
          "sana-fe weight_bits", "inferred"),
    Limit("L1_SYNAPSE_WORD_BITS", L1_SYNAPSE_WORD_BITS, "synaptic memory word width", "sana-fe word_bits",
          "inferred"),
    # per-core resources: Loihi 2
    Limit("L2_CORES_PER_CHIP", L2_CORES_PER_CHIP, "Loihi 2 neuro cores per chip", "intel-brief", "public"),
    Limit("L2_NEURONS_PER_CORE_MAX", L2_NEURONS_PER_CORE_MAX, "Loihi 2 largest neuron count per core",
          "intel-brief: up to 1M neurons on 128 cores, rounded up to 8k per core", "inferred"),
    Limit("L2_NEURONS_PER_CORE", L2_NEURONS_PER_CORE, "Loihi 2 CUBA neurons the compiler places per core",
          "lava-dl-mnist: 10 at 0.24 %, 64 at 1.56 % -> ~4096", "inferred"),
    Limit("L2_AXONS_IN_PER_CORE", L2_AXONS_IN_PER_CORE, "Loihi 2 input axons per core",
          "lava-dl-mnist: 64 at 0.40 %, 128 at 0.80 %, 784 at 4.90 % -> 16000", "inferred"),
    Limit("L2_AXON_MAP_PER_CORE", L2_AXON_MAP_PER_CORE, "Loihi 2 output-axon map entries per core",
          "lava-dl-mnist: 64 at 0.40 % -> 16000", "inferred"),
    Limit("L2_NEURON_GROUPS_PER_CORE", L2_NEURON_GROUPS_PER_CORE, "Loihi 2 neuron groups per core",
          "lava-dl-mnist: one group at 12.50 % -> 8", "inferred"),
    Limit("L2_SYNMEM_WORDS_PER_CORE", L2_SYNMEM_WORDS_PER_CORE, "Loihi 2 synaptic memory words per core",
          "lava-dl-pilotnet compiler log: SynMem registers = 12000 (word unit inferred)", "inferred"),
    Limit("L2_SYNAPSE_BITS", L2_SYNAPSE_BITS, "bits one stored synapse takes on Loihi 2",
          "assumed equal to Loihi 1 (sana-fe)", "inferred"),
    Limit("L2_SYNAPSE_WORD_BITS", L2_SYNAPSE_WORD_BITS, "Loihi 2 synaptic memory word width",
          "assumed equal to Loihi 1 (sana-fe)", "inferred"),
    Limit("L2_STATIC_W_PER_CHIP", L2_STATIC_W_PER_CHIP, "idle (static) power of one Loihi 2 chip, W",
          "lava-dl-pilotnet: 'Static Power : 0.232078 W' (one board, one chip)", "measured"),
)
