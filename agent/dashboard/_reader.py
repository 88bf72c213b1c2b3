"""The registry as the pages read it: its API, with each run's snapshot (and what is computed
from it) kept until the run changes. A finished run never changes, so its pages are read from the
store once; a running one is read again after each change the loop records (``updated_at``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from ..registry import BaseRegistry, RunSnapshot

__all__ = ["Reader"]

KEPT_RUNS = 8  # snapshots kept: a 2,000-trial run is a few MB in memory


class Reader:
    def __init__(self, registry: BaseRegistry):
        self.registry = registry
        self._kept: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str):  # every other read goes to the registry as it is
        return getattr(self.registry, name)

    def _entry(self, run_id: str) -> dict:
        key = (run_id, self.registry.get_run(run_id).updated_at)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        snapshot = self.registry.snapshot(run_id)
        entry = {"snapshot": snapshot}
        if snapshot.run.updated_at == key[1]:  # unchanged while it was read: safe to keep
            with self._lock:
                self._kept[key] = entry
                while len(self._kept) > KEPT_RUNS:
                    self._kept.popitem(last=False)
        return entry

    def snapshot(self, run_id: str) -> RunSnapshot:
        return self._entry(run_id)["snapshot"]

    def derived(self, run_id: str, name: str, compute: Callable[[RunSnapshot], object]):
        """``compute(snapshot)``, once per state of the run."""
        entry = self._entry(run_id)
        if name not in entry:
            entry[name] = compute(entry["snapshot"])
        return entry[name]
