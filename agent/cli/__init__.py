"""The command line: the click group (``_group``) and its commands, option parsing only.

``eval``/``compare`` (``_eval``), ``run``/``resume`` (``_run``), ``runs``/``report`` (``_runs``),
``datasets``/``doctor``/``llm-check``/``image`` (``_admin``, ``_llm``). Importing a command module
registers its commands on ``main``; the work behind each is imported when the command runs.
"""

from __future__ import annotations

import sys

from . import _admin, _eval, _run, _runs  # noqa: F401  (registers the commands)
from ._eval import quick_entry
from ._group import main

__all__ = ["entry", "main", "quick_entry"]


def entry() -> None:
    main(prog_name="research-agent")


if __name__ == "__main__":
    sys.exit(entry())
