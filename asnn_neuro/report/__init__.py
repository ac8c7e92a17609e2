"""Report stage: compare simulation runs (accuracy, energy, spikes, latency) in Markdown, JSON and plots."""

from asnn_neuro.report.build import build_report
from asnn_neuro.report.collect import ReportRow, collect_run
from asnn_neuro.util.lazy import callable_stage

__all__ = ["ReportRow", "build_report", "collect_run"]

callable_stage(__name__)  # asnn_neuro.report(...) is asnn_neuro.api.report(...)
