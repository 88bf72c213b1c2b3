"""``/metrics``: the registry in Prometheus' text format, computed on each scrape.

A custom collector over the registry's API (no counters kept in the process: a restart of the
dashboard loses nothing, and two dashboards over one home agree). Labels are run ids and our own
status names, never text a model or an LLM wrote.
"""

from __future__ import annotations

from ..records import TrialStatus
from ..registry import BaseRegistry

__all__ = ["exposition"]


def exposition(registry: BaseRegistry) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Collector(registry))
    return generate_latest(scrape), CONTENT_TYPE_LATEST


class _Collector:
    def __init__(self, registry: BaseRegistry):
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
            counts: dict[str, int] = {}
            seconds = 0.0
            for t in self.registry.list_trials(rid):
                key = t.status.value if t.status is not None else t.state.value
                counts[key] = counts.get(key, 0) + 1
                seconds += t.container_s or 0.0
            for status in [s.value for s in TrialStatus] + ["running", "pending"]:
                trials.add_metric([rid, status], counts.get(status, 0))
            running.add_metric([rid], counts.get("running", 0))
            container.add_metric([rid], seconds)
            llm = self.registry.list_llm_calls(rid)
            calls.add_metric([rid], len(llm))
            tokens.add_metric([rid, "prompt"], sum(c.prompt_tokens or 0 for c in llm))
            tokens.add_metric([rid, "completion"], sum(c.completion_tokens or 0 for c in llm))
        for status, n in sorted(by_status.items()):
            runs.add_metric([status], n)
        yield from (runs, trials, running, container, calls, tokens)
