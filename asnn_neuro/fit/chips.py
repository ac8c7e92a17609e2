"""Per-core limits of each chip the partitioner knows, built from the cited table in chip.limits."""

from __future__ import annotations

from dataclasses import dataclass

from asnn_neuro.chip import limits as lim
from asnn_neuro.errors import InputError


@dataclass(frozen=True)
class ChipSpec:
    """One chip's per-core budget.

    syn_words: synaptic memory per core in words of ``word_bits``; one synapse takes
    ``synapse_bits``. shared_conv: a conv kernel is stored once per core (Loihi 2's conv
    synapses), not once per output position. idle_w_per_chip: static power, W (None: unknown).
    """

    name: str
    cores_per_chip: int
    neurons: int
    axons_in: int
    axons_out: int
    syn_words: int
    synapse_bits: int
    word_bits: int
    neuron_groups: int
    shared_conv: bool
    idle_w_per_chip: float | None
    limit_rows: tuple[str, ...]

    def limits(self) -> dict[str, int]:
        """Limit name -> capacity per core, in the order reports show them."""
        return {"neurons": self.neurons, "axons_in": self.axons_in, "axons_out": self.axons_out,
                "synaptic_memory": self.syn_words, "neuron_groups": self.neuron_groups}


LOIHI1 = ChipSpec(
    name="loihi1", cores_per_chip=lim.L1_CORES_PER_CHIP, neurons=lim.L1_NEURONS_PER_CORE,
    axons_in=lim.L1_AXONS_IN_PER_CORE, axons_out=lim.L1_AXONS_OUT_PER_CORE,
    syn_words=lim.L1_SYNAPSE_BITS_PER_CORE // lim.L1_SYNAPSE_WORD_BITS, synapse_bits=lim.L1_SYNAPSE_BITS,
    word_bits=lim.L1_SYNAPSE_WORD_BITS, neuron_groups=lim.L1_NEURONS_PER_CORE, shared_conv=False,
    idle_w_per_chip=None,
    limit_rows=("L1_CORES_PER_CHIP", "L1_NEURONS_PER_CORE", "L1_AXONS_IN_PER_CORE", "L1_AXONS_OUT_PER_CORE",
                "L1_SYNAPSE_BITS_PER_CORE", "L1_SYNAPSE_BITS", "L1_SYNAPSE_WORD_BITS"),
)

LOIHI2 = ChipSpec(
    name="loihi2", cores_per_chip=lim.L2_CORES_PER_CHIP, neurons=lim.L2_NEURONS_PER_CORE,
    axons_in=lim.L2_AXONS_IN_PER_CORE, axons_out=lim.L2_AXON_MAP_PER_CORE,
    syn_words=lim.L2_SYNMEM_WORDS_PER_CORE, synapse_bits=lim.L2_SYNAPSE_BITS, word_bits=lim.L2_SYNAPSE_WORD_BITS,
    neuron_groups=lim.L2_NEURON_GROUPS_PER_CORE, shared_conv=True, idle_w_per_chip=lim.L2_STATIC_W_PER_CHIP,
    limit_rows=("L2_CORES_PER_CHIP", "L2_NEURONS_PER_CORE_MAX", "L2_NEURONS_PER_CORE", "L2_AXONS_IN_PER_CORE",
                "L2_AXON_MAP_PER_CORE", "L2_NEURON_GROUPS_PER_CORE", "L2_SYNMEM_WORDS_PER_CORE",
                "L2_SYNAPSE_BITS", "L2_SYNAPSE_WORD_BITS", "L2_STATIC_W_PER_CHIP"),
)

CHIPS = {c.name: c for c in (LOIHI2, LOIHI1)}


def chip_spec(name: str) -> ChipSpec:
    """The chip called ``name`` (loihi2 or loihi1); InputError otherwise."""
    if name not in CHIPS:
        raise InputError(f"--chip {name!r}: unknown chip (known: {', '.join(CHIPS)})")
    return CHIPS[name]
