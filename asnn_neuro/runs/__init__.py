"""Run records: ``RunRecord`` (summary.json, typed) and the run folder's one writer and readers."""

from asnn_neuro.runs.folder import (
    find_run,
    load_network,
    read_counts,
    read_outputs,
    read_run,
    read_summary,
    write_run,
)
from asnn_neuro.runs.record import InputTotals, LayerRecord, OutputInfo, RunRecord

__all__ = ["InputTotals", "LayerRecord", "OutputInfo", "RunRecord", "find_run", "load_network", "read_counts",
           "read_outputs", "read_run", "read_summary", "write_run"]
