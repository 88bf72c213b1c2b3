"""A 64 MiB /out/report.json: it fits in /out and under the host's read cap, but is over the
report cap (MAX_REPORT_BYTES, 8 MiB). The model shares the runner's process, so it swaps
``json.dump`` for its own, which pads whatever is written under /out/report.json (the runner
writes a temp file and renames it). The report is only informational: predictions are
intact, so the host scores them and says ``ok`` with the flag ``runner_report_invalid``,
without parsing 64 MiB of JSON.
"""

from ._swap import model_that_swaps

SOURCE = model_that_swaps("json", "dump", """
def dump(obj, fh, *args, **kwargs):
    if str(getattr(fh, "name", "")).startswith("/out/report.json"):
        fh.write('{"protocol_version": 2, "pad": "' + "x" * (64 * 1024 * 1024) + '"}')
        return None
    return _real_dump(obj, fh, *args, **kwargs)
""")


def test_huge_report_is_flagged_not_parsed(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
    assert "runner_report_invalid" in run.flags, run.explain()
