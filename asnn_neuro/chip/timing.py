"""Per-event latencies and fixed costs of one Loihi algorithmic time step, in one cited table.

The time model (``asnn_neuro.fit.timing``) counts events per core and prices them with these
coefficients. Sources (short names used below):

- ``davies2018``: Davies et al., "Loihi: a neuromorphic manycore processor with on-chip
  learning", IEEE Micro 38(1), 2018, Table 2 (Loihi 1 pre-silicon per-event latencies);
- ``sana-fe``: SLAM-Lab/SANA-FE ``arch/loihi.yaml`` (Boyle et al., 2023-2025): the Loihi 1
  per-event latencies of davies2018 as the SANA-FE simulator uses them, including its barrier
  synchronisation table (seconds per step for 1, 2, 4 and 29 tiles), calibrated on Loihi 1;
- ``lava-dl-pilotnet``: lava-dl ``tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb``,
  the Loihi 2 board's measured 408.91 inferences/s at 16 steps per inference (152.85 µs per step)
  on 74 cores, with its input driven by bias (no host I/O);
- ``lava-dl-pilotnet-sdnn``: ``pilotnet_sdnn/benchmark.ipynb``: 16.87 frames/s at one step per
  frame; the notebook states the run is bottlenecked by sending input frames from the host.

Confidence as in ``chip.limits``: ``public`` (stated in a paper), ``measured`` (a published
board figure), ``inferred`` (our arithmetic on published output; the row says how).
No public per-event latency of Loihi 2 was found (the 2026 runtime-model paper of Timcheck,
Pierro and Shrestha measures such constants but we could not read their values), so the
per-event rows are Loihi 1 figures and the Loihi 2 model scales them by one factor fitted on the
one Loihi 2 time measurement that is not I/O bound (PilotNet LIF).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Loihi 1 per-event latencies (seconds) -------------------------------------------------------
T_SYNOP_DENSE = 3.8e-9          # one synaptic event, dense synapse
T_SYNOP_CONV = 3.1e-9           # one synaptic event, conv (shared) synapse
T_NEURON = 3.7e-9 + 6.0e-9      # one neuron (compartment) update incl. its state access
T_SPIKE_OUT = 30.0e-9           # one spike generated
T_MESSAGE_IN = 16.0e-9          # one spike message received by a core
T_MESSAGE_OUT = 5.1e-9          # one spike message sent (per destination core)
T_HOP_EW = 4.1e-9               # one east-west mesh hop
T_HOP_NS = 6.5e-9               # one north-south mesh hop
SYNC_TABLE = ((1, 0.6e-6), (2, 1.0e-6), (4, 1.4e-6), (29, 1.8e-6))  # (tiles, barrier s per step)
CORES_PER_TILE_L1 = 4           # Loihi 1: 4 cores per tile (32 tiles x 4 = 128)
# --- Loihi 2 -------------------------------------------------------------------------------------
L2_PILOTNET_STEP_S = 1.0 / (408.91 * 16)  # measured: 152.85 µs per step, 74 cores
L2_HOST_FRAME_STEP_S = 1.0 / 16.87        # measured: 59.3 ms per step with a host-sent frame
L2_HOST_FRAME_VALUES = 200 * 66 * 3       # values in that frame (PilotNet input 200 x 66 x 3)
L2_HOST_LOOP_STEP_S = 16.09 / 2000        # measured: Oxford, <= 200 host input spikes per step: 8.05 ms


@dataclass(frozen=True)
class Coefficient:
    """One row: a constant, its unit, what it prices, where it comes from, how sure we are."""

    name: str
    value: float
    unit: str
    what: str
    source: str
    confidence: str


TABLE: tuple[Coefficient, ...] = (
    Coefficient("T_SYNOP_DENSE", T_SYNOP_DENSE, "s", "Loihi 1 synaptic event, dense synapse",
                "sana-fe loihi_dense_synapse latency_process_spike; davies2018", "public"),
    Coefficient("T_SYNOP_CONV", T_SYNOP_CONV, "s", "Loihi 1 synaptic event, conv synapse",
                "sana-fe loihi_conv_synapse latency_process_spike", "public"),
    Coefficient("T_NEURON", T_NEURON, "s", "Loihi 1 neuron update (3.7 ns) + state access (6.0 ns)",
                "sana-fe loihi_lif latency_update_neuron + latency_access_neuron; davies2018", "public"),
    Coefficient("T_SPIKE_OUT", T_SPIKE_OUT, "s", "Loihi 1 spike generation", "sana-fe latency_spike_out",
                "public"),
    Coefficient("T_MESSAGE_IN", T_MESSAGE_IN, "s", "Loihi 1 message received by a core",
                "sana-fe loihi_in latency_message_in", "public"),
    Coefficient("T_MESSAGE_OUT", T_MESSAGE_OUT, "s", "Loihi 1 message sent (per destination core)",
                "sana-fe loihi_out latency_message_out", "public"),
    Coefficient("T_HOP_EW", T_HOP_EW, "s", "Loihi 1 east-west mesh hop", "davies2018 Table 2; sana-fe",
                "public"),
    Coefficient("T_HOP_NS", T_HOP_NS, "s", "Loihi 1 north-south mesh hop", "davies2018 Table 2; sana-fe",
                "public"),
    Coefficient("SYNC_TABLE", SYNC_TABLE[-1][1], "s", "barrier sync per step: 0.6/1.0/1.4/1.8 µs at "
                "1/2/4/29 tiles (interpolated in tiles)", "sana-fe latency_sync table", "public"),
    Coefficient("L2_PILOTNET_STEP_S", L2_PILOTNET_STEP_S, "s", "Loihi 2 measured time per step, PilotNet "
                "LIF (74 cores, input by bias, no host I/O)",
                "lava-dl-pilotnet: 'Throughput : 408.91 fps' x 16 steps per inference", "measured"),
    Coefficient("L2_HOST_FRAME_STEP_S", L2_HOST_FRAME_STEP_S, "s", "Loihi 2 measured time per step when "
                "every step receives a frame from the host (I/O bound)",
                "lava-dl-pilotnet-sdnn: 'Throughput : 16.87 fps' at one step per frame", "measured"),
    Coefficient("L2_HOST_LOOP_STEP_S", L2_HOST_LOOP_STEP_S, "s", "Loihi 2 measured time per step of a small "
                "network fed spikes from a Python host process every step (Oxford, 2000 steps)",
                "lava-dl oxford/run.ipynb driver log: 'Executing...Done 16.09s' for 2000 steps", "measured"),
    Coefficient("T_HOST_VALUE", L2_HOST_FRAME_STEP_S / L2_HOST_FRAME_VALUES, "s",
                "host-to-chip time per input value (frame time / 39600 values)",
                "lava-dl-pilotnet-sdnn, our division; Python host path of 2023, an upper figure", "inferred"),
)


def sync_seconds(cores: int, cores_per_tile: int = CORES_PER_TILE_L1) -> float:
    """Barrier synchronisation time of one step for ``cores`` cores (linear in tiles between rows)."""
    tiles = max(1, -(-int(cores) // cores_per_tile))
    pts = SYNC_TABLE
    if tiles >= pts[-1][0]:
        return pts[-1][1]
    for (t0, s0), (t1, s1) in zip(pts, pts[1:]):
        if t0 <= tiles <= t1:
            return s0 + (s1 - s0) * (tiles - t0) / (t1 - t0)
    return pts[0][1]
