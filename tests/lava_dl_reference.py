"""The conformance reference lives in the package (``asnn_neuro.apps.lava_dl_reference``, also
used by scripts/netx_conformance.py); re-exported for the tests."""

from asnn_neuro.apps.lava_dl_reference import (  # noqa: F401
    CUBA,
    export_blocks,
    lava_dl_run,
    ours,
    shaped,
    slayer_blocks,
    slayer_cuba_conv,
    slayer_cuba_dense,
    slayer_cuba_recurrent,
    slayer_dense_forward,
    slayer_other_dense,
    slayer_sigma_delta,
    slayer_transposed,
)
