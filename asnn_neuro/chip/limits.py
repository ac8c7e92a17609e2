"""Every Loihi number range and bit width the toolchain relies on, in one cited table.

Code uses the named constants; ``TABLE`` lists each with its source, for docs and reports.
Sources (short names used below):

- ``lava-lif``: lava-nc 0.10.0, ``lava/proc/lif/models.py``, ``PyLifModelBitAcc`` (the
  bit-accurate Loihi LIF model: its ``LavaPyType`` precisions and shift constants);
- ``lava-dense``: lava-nc 0.10.0, ``lava/proc/dense/models.py`` and
  ``lava/utils/weightutils.py`` (8-bit weights, sign mode, weight exponent);
- ``lava-conv``: lava-nc 0.10.0, ``lava/proc/conv/models.py`` (fixed-point conv clamps its
  output to 24 bits);
- ``davies2018``: Davies et al., "Loihi: a neuromorphic manycore processor with on-chip
  learning", IEEE Micro 38(1), 2018 (24-bit state, 12-bit decays, up to 8-bit weights);
- ``ours``: a choice of this toolchain (the ASNN neuron is our own Loihi 2 program).
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


@dataclass(frozen=True)
class Limit:
    """One row of the table: a constant, what it bounds, and where the number comes from."""

    name: str
    value: float
    what: str
    source: str


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
    Limit("GRADED_BITS", GRADED_BITS, "payload bits of a graded input spike", "ours (Loihi 2 allows up to 24)"),
)
