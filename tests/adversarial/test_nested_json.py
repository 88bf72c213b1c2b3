"""A report.json nested a million brackets deep (2 MB): the model swaps ``json.dump``, which
the runner (same process) uses for its report. ``json.loads`` on it would raise
RecursionError or worse; the host measures the depth without parsing (MAX_JSON_DEPTH) and
ignores the report: ``ok`` with the flag ``runner_report_invalid``. The host must not crash.
"""

from ._swap import model_that_swaps

SOURCE = model_that_swaps("json", "dump", """
def dump(obj, fh, *args, **kwargs):
    if str(getattr(fh, "name", "")).startswith("/out/report.json"):
        fh.write("[" * 1_000_000 + "]" * 1_000_000)
        return None
    return _real_dump(obj, fh, *args, **kwargs)
""")


def test_deeply_nested_report_is_flagged(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
    assert "runner_report_invalid" in run.flags, run.explain()
