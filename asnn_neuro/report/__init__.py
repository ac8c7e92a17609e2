"""Report stage: compare simulation runs (accuracy, energy, spikes, latency) in Markdown, JSON and plots."""

from asnn_neuro.report.build import build_report
from asnn_neuro.report.collect import RunRecord, collect_run

__all__ = ["RunRecord", "build_report", "collect_run"]
