"""``/metrics``: the registry in Prometheus' text format, computed on each scrape.

A custom collector over the registry's API, through the app's ``Reader`` (no counters kept in the
process: a restart of the dashboard loses nothing, and two dashboards over one home agree).
Labels are run ids and our own status names, never text a model or an LLM wrote.
"""

from __future__ import annotations

from ..records import TrialStatus
from ._views import run_totals

__all__ = ["exposition"]


def exposition(registry) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Collector(registry))
    return generate_latest(scrape), CONTENT_TYPE_LATEST


class _Collector:
    def __init__(self, registry):  # the app's Reader: each run's totals once per state of the run
        self.registry = registry

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        trials = GaugeMetricFamily("research_agent_trials", "Trials by run and status (finished: the trial "
                                   "status; else its state)", labels=["run", "status"])
        running = GaugeMetricFamily("research_agent_trials_running", "Trials running now", labels=["run"])
        container = CounterMetricFamily("research_agent_container_seconds", "Container seconds of finished "
                                        "trials", labels=["run"])
        calls = CounterMetricFamily("research_agent_llm_calls", "LLM requests recorded", labels=["run"])
        tokens = CounterMetricFamily("research_agent_llm_tokens", "LLM tokens recorded", labels=["run", "kind"])
        runs = GaugeMetricFamily("research_agent_runs", "Runs by status", labels=["status"])
        by_status: dict[str, int] = {}
        for summary in self.registry.list_runs():
            rid = summary.id
            by_status[summary.status.value] = by_status.get(summary.status.value, 0) + 1
            totals = self.registry.derived(rid, "totals", run_totals)
            counts = totals["by_status"]
            for status in [s.value for s in TrialStatus] + ["running", "pending"]:
                trials.add_metric([rid, status], counts.get(status, 0))
            running.add_metric([rid], counts.get("running", 0))
            container.add_metric([rid], totals["container_s"])
            calls.add_metric([rid], totals["llm_calls"])
            tokens.add_metric([rid, "prompt"], totals["prompt_tokens"])
            tokens.add_metric([rid, "completion"], totals["completion_tokens"])
        for status, n in sorted(by_status.items()):
            runs.add_metric([status], n)
        yield from (runs, trials, running, container, calls, tokens)
