"""report.json as a symlink to /etc/passwd: the model swaps ``os.replace`` (the runner writes
its report to a temp file and renames it into place) for one that plants the link. The host
never follows links in /out: the report is simply absent, predictions are intact, so the
status is ``ok`` with the flag ``runner_report_invalid``.
"""

from ._swap import model_that_swaps

SOURCE = model_that_swaps("os", "replace", """
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith("/report.json"):
        os.remove(src)
        os.symlink("/etc/passwd", dst)
        return None
    return _real_replace(src, dst, *args, **kwargs)
""")


def test_symlinked_report_is_ignored(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
    assert "runner_report_invalid" in run.flags, run.explain()
