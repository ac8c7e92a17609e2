"""NetX HDF5, lava-dl's exchange format: ``read_network`` (ours or lava-dl's files -> IR),
``write_network`` (IR -> file lava-dl's loader reads), and the checks a file must pass."""

from asnn_neuro.deploy.netx.read import read_network
from asnn_neuro.deploy.netx.write import write_network

__all__ = ["read_network", "write_network"]
