"""The NetX format as we read and write it: our extension's tag and the reader's sanity bounds."""

from asnn_neuro.chip import limits as lim

FORMAT = "asnn-netx/1"  # the ``format`` attribute of files we write (docs/netx_schema.md)
SUPPORTED_TYPES = ("input", "conv", "convT", "dense", "dense_rec", "pool", "unpool", "flatten", "average", "concat")
MAX_TIMESTEPS = lim.MAX_TIMESTEPS  # a file's ``timesteps`` attribute (its schedules' length)
MAX_GEOMETRY = 4096
MIN_SHIFT, MAX_SHIFT = -16, 48
