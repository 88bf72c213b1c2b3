"""The defaults the command line shows, and where runs live.

Standard library only: ``--help`` prints these without importing pydantic, numpy or the data
stack. The modules that validate them (``records``, ``protocol``, ``config``, ``data``) import
them from here, so there is still one value of each.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATASET = "digits"  # bundled with scikit-learn: the default run works offline on any machine
DEFAULT_TIMEOUT_S = 600.0  # ten minutes: ample for the small CPU models trained here; a hung trial costs no more
DEFAULT_MEMORY = "2g"  # the CLI's spelling of DEFAULT_MEMORY_BYTES (agent.config.parse_memory reads it)
DEFAULT_MEMORY_BYTES = 2 * 1024**3  # torch, the runner and a small dataset fit; a leak stops before the host swaps
DEFAULT_MAX_PARAMS = 50_000_000  # bigger models are rejected before training: a typo in a width, not research
DEFAULT_HOME = Path("runs")


def home_dir(option: str | None = None) -> Path:
    """``--home``, else ``$RESEARCH_AGENT_HOME``, else ``./runs``."""
    return Path(option or os.environ.get("RESEARCH_AGENT_HOME") or DEFAULT_HOME)
