"""A report.json nested a million brackets deep (2 MB): the model swaps ``json.dump``, which
the runner (same process) uses for its report. ``json.loads`` on it would raise
RecursionError or worse; the host measures the depth without parsing (MAX_JSON_DEPTH) and
ignores the report: ``ok`` with the flag ``runner_report_invalid``. The host must not crash.
"""

SOURCE = """
import json
import torch.nn as nn

_real_dump = json.dump


def dump(obj, fh, *args, **kwargs):
    if str(getattr(fh, "name", "")).startswith("/out/report.json"):
        fh.write("[" * 1_000_000 + "]" * 1_000_000)
        return None
    return _real_dump(obj, fh, *args, **kwargs)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        json.dump = dump
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_deeply_nested_report_is_flagged(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
    assert "runner_report_invalid" in run.flags, run.explain()
