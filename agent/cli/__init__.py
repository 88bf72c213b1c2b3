"""The command line: the click group (``_group``) and its commands, option parsing only.

``eval``/``compare`` (``_eval``), ``run``/``resume`` (``_run``), ``runs``/``report`` (``_runs``),
``export`` and the ``--mlflow`` options of ``run``/``resume`` (``_export``), ``dashboard``,
``datasets``/``doctor``/``llm-check``/``image`` (``_admin``, ``_llm``). Importing a command module
registers its commands on ``main``; the work behind each is imported when the command runs.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

import click

from . import _admin, _dashboard, _eval, _export, _run, _runs  # noqa: F401  (registers the commands)
from ._eval import quick_evaluator
from ._group import main

__all__ = ["entry", "main", "quick_entry"]


def entry() -> None:
    finish(main, "research-agent")


def quick_entry() -> None:
    finish(quick_evaluator, "quick-evaluator")


def finish(command: click.Command, prog_name: str) -> None:
    """Run ``command``, then end the process without tearing down every module it imported.

    That teardown (scikit-learn, scipy, pydantic, docker-py) took 0.3-0.45 s after each short
    command, with nothing left to do. What an interpreter exit does that matters still happens:
    non-daemon threads are joined, ``atexit`` handlers run (logging's flush among them), the
    standard streams are flushed.
    """
    try:
        command.main(prog_name=prog_name)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):  # SystemExit("text") prints the text and exits 1, as Python does
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001  (CPython's own exit sequence; public since 2.x in all but name)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): Python's own exit status for it
            code = code or 120
    os._exit(code)
