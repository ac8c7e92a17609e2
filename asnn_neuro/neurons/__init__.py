"""Spiking neuron models: the ASNN neuron (and its time-invariant LIF variant)."""
