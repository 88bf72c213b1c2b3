"""`research-agent run` as a user runs it, except that it hangs inside one registry write.

    python -m tests.integration._paused_run ACTION:K MARKER -- run --goal ... [run options]

The K-th write transaction named ACTION (``finish_trial``, ``start_trial``, ...) stops right
before its COMMIT: the marker file is written, then the process sleeps until the test SIGKILLs
it. Everything else is the real CLI, the real sandbox and the real SQLite registry.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agent.registry._sqlite import SQLiteRegistry

HANG_S = 600  # "forever": the test kills the process long before


def main(argv: list[str]) -> None:
    where, marker, sep, *cli_args = argv
    assert sep == "--", "usage: ACTION:K MARKER -- CLI ARGS"
    action, _, k = where.partition(":")
    counts: dict[str, int] = {}
    original = SQLiteRegistry._before_commit

    def hang_at_k(self, name: str) -> None:
        original(self, name)
        counts[name] = counts.get(name, 0) + 1
        if name == action and counts[name] == int(k):
            Path(marker).write_text(f"{name} {k}\n")
            time.sleep(HANG_S)

    SQLiteRegistry._before_commit = hang_at_k
    from agent.cli import main as cli

    cli(args=cli_args, prog_name="research-agent")


if __name__ == "__main__":
    main(sys.argv[1:])
