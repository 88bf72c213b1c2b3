"""Work the host can do while a container trains: loading the scoring libraries.

The first trial of a process would otherwise import scikit-learn and scipy after its container
exits; started here, they load while it starts and trains.
"""

from __future__ import annotations

import importlib
import sys
import threading

# What scoring a finished container needs (scikit-learn and scipy: about 1.2 CPU s), imported
# while the container starts and trains rather than after it, when the host is otherwise idle.
SCORING_MODULES = ("agent.scoring._metrics", "agent.scoring._goal", "agent.scoring._stats",
                   "agent.scoring._bootstrap", "agent.scoring._dynamics")


def load_scoring_meanwhile() -> None:
    """Import :data:`SCORING_MODULES` in a background thread, unless they are loaded already.

    The main thread blocks on a module's import lock if it needs one first, so this only ever
    moves work earlier; a failed import is raised again where the module is used.
    """
    if all(name in sys.modules for name in SCORING_MODULES):
        return
    threading.Thread(target=_import_quietly, args=(SCORING_MODULES,), name="scoring-imports",
                     daemon=True).start()


def _import_quietly(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (raised again, with its traceback, where it is used)
            return
