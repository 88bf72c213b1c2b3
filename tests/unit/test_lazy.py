"""Lazy package exports (``agent._lazy``), the per-process label cache, and scoring loaded meanwhile."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import agent
from agent.data._base import PreparedDataset
from tests.conftest import REPO


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (a clean ``sys.modules``); its stdout."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_a_package_name_loads_only_its_own_submodule():
    out = _fresh("""
        import sys
        import agent.scoring as s
        before = "agent.scoring._compare" in sys.modules
        plan = s.plan_for("auto")
        print(before, plan, "agent.scoring._compare" in sys.modules, "scipy" in sys.modules)
    """)
    assert out == "False (3, 5, 10) False False"


def test_every_exported_name_resolves_and_is_listed():
    for package in (agent, agent.data, agent.planner, agent.report, agent.scoring):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))


def test_a_subpackage_not_imported_yet_is_an_attribute_too():
    out = _fresh("""
        import sys
        import agent
        print("agent.registry" in sys.modules, type(agent.registry).__name__, agent.registry.SCHEMA_VERSION > 0)
    """)
    assert out == "False module True"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        agent.scoring.nope  # noqa: B018
    with pytest.raises(ImportError):
        from agent.data import nope  # noqa: F401


def test_a_resolved_name_is_cached_on_the_package():
    value = agent.planner.SearchPlanner
    assert vars(agent.planner)["SearchPlanner"] is value


def _dataset(tmp_path) -> PreparedDataset:
    (tmp_path / "public").mkdir()
    (tmp_path / "hidden").mkdir()
    np.save(tmp_path / "hidden" / "test_y.npy", np.array([0, 1, 1]))
    np.save(tmp_path / "public" / "val_y.npy", np.array([1, 0]))
    return PreparedDataset(name="t", modality="tabular", n_classes=2, input_shape=(1,), n_train=1, n_val=2,
                           n_test=3, fingerprint="f", public_dir=tmp_path / "public", hidden_dir=tmp_path / "hidden")


def test_labels_are_read_once_and_shared_read_only(tmp_path):
    data = _dataset(tmp_path)
    first = data.test_labels()
    assert data.test_labels() is first and first.tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1
    assert data.val_labels().tolist() == [1, 0]


def test_labels_written_again_are_read_again(tmp_path):
    data = _dataset(tmp_path)
    assert data.test_labels().tolist() == [0, 1, 1]
    np.save(tmp_path / "hidden" / "test_y.npy", np.array([1, 1, 1, 0]))
    assert data.test_labels().tolist() == [1, 1, 1, 0]


def test_scoring_loads_in_the_background():
    out = _fresh("""
        import sys, time
        from agent.trial._meanwhile import SCORING_MODULES, load_scoring_meanwhile
        before = [m in sys.modules for m in SCORING_MODULES]
        load_scoring_meanwhile()
        deadline = time.monotonic() + 60
        while not all(m in sys.modules for m in SCORING_MODULES) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(any(before), all(m in sys.modules for m in SCORING_MODULES), "sklearn" in sys.modules)
    """)
    assert out == "False True True"
