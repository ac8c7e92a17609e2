"""The NetX format as we read and write it: our extension's tag and the reader's sanity bounds."""

FORMAT = "asnn-netx/1"  # the ``format`` attribute of files we write (docs/netx_schema.md)
SUPPORTED_TYPES = ("input", "conv", "dense", "pool", "flatten", "average", "concat")
MAX_TIMESTEPS = 1024
MAX_GEOMETRY = 4096
MIN_SHIFT, MAX_SHIFT = -16, 48
