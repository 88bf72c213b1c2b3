"""``agent.cli.finish``: the process ends at once, after what an interpreter exit must still do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO

SCRIPT = textwrap.dedent("""
    import atexit, os, sys, threading, time
    import click
    from agent.cli import finish

    @click.command()
    @click.option("--code", default=0, type=int)
    @click.option("--text", default=None)
    def cmd(code, text):
        atexit.register(lambda: open(os.environ["MARKER"] + ".atexit", "w").write("ran"))
        def late():
            time.sleep(0.3)
            open(os.environ["MARKER"] + ".thread", "w").write("joined")
        threading.Thread(target=late).start()
        sys.stdout.write("no newline, still buffered")
        if text:
            sys.exit(text)
        sys.exit(code)

    finish(cmd, "probe")
""")


def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"MARKER": str(tmp_path / "m")}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_exit_code_output_threads_and_atexit_handlers_all_survive(tmp_path):
    proc = _run(tmp_path, "--code", "3")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "no newline, still buffered"
    assert (tmp_path / "m.atexit").read_text() == "ran"
    assert (tmp_path / "m.thread").read_text() == "joined"


def test_a_text_exit_prints_it_and_exits_1_as_python_does(tmp_path):
    proc = _run(tmp_path, "--text", "bad thing")
    assert proc.returncode == 1 and proc.stderr.strip() == "bad thing"


def test_a_usage_error_keeps_clicks_exit_code(tmp_path):
    proc = _run(tmp_path, "--code", "x")
    assert proc.returncode == 2 and "Invalid value" in proc.stderr
