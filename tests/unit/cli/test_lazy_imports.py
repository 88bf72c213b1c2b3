"""Short commands import only what they use: `python -X importtime` lists every module a process loaded.

``--help`` was 1.3 s, nearly all of it scikit-learn pulled in through the dataset catalog before a
flag was parsed. ``doctor`` is checked in tests/integration/test_doctor.py (it needs the engine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# What no short command needs: the data stack, the search, plots, the LLM client, training code.
HEAVY = ("sklearn", "scipy", "matplotlib", "torch", "torchvision", "pandas", "pyarrow", "skrub", "optuna",
         "openai", "datasets", "mlflow", "tensorboardX", "tensorboard", "starlette", "uvicorn", "jinja2",
         "prometheus_client", "playwright")
# --help prints click's text: it needs not even validation or arrays.
HELP_HEAVY = (*HEAVY, "numpy", "pydantic", "docker")


def imported(*args: str, home: Path, python: tuple[str, ...] = ("-m", "agent")) -> set[str]:
    """Top-level names of every module ``python -m agent ARGS`` imported."""
    env = os.environ | {"RESEARCH_AGENT_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-X", "importtime", *python, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {m[1].split(".")[0] for m in re.finditer(r"^import time:.*\|\s*(\S+)\s*$", proc.stderr, re.M)}
    assert "agent" in names and "click" in names, "importtime printed nothing the test can read"
    return names


def heavy_in(names: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(names & set(heavy))


@pytest.mark.parametrize("args", [("--help",), ("eval", "--help"), ("run", "--help"), ("export", "--help"),
                                  ("dashboard", "--help")])
def test_help_imports_neither_the_data_stack_nor_validation(args, tmp_path):
    assert heavy_in(imported(*args, home=tmp_path), HELP_HEAVY) == []


@pytest.mark.parametrize("args", [("datasets",), ("datasets", "--json"), ("runs", "list")])
def test_catalog_and_run_listing_skip_the_data_stack(args, tmp_path):
    assert heavy_in(imported(*args, home=tmp_path), HEAVY) == []


def test_the_check_sees_a_heavy_import(tmp_path):
    # Guards the test itself: the same reading of the same output must catch scikit-learn.
    names = imported(home=tmp_path, python=("-c", "import agent.cli, sklearn.model_selection"))
    assert {"sklearn", "scipy"} <= set(heavy_in(names, HEAVY))
