"""CLI errors that happen before any container: exit code, one line on stderr, no traceback.

Every test points DOCKER_HOST at a dead socket, so none of them can need the engine.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

DEAD_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}
EXIT_ERROR, EXIT_USAGE, EXIT_MODEL_FAILED = 1, 2, 3

VALID_MODEL = """\
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


@pytest.fixture
def cli(tmp_path):
    def _run(*args: str):
        return run_cli(*args, home=tmp_path / "home", timeout=120, env=DEAD_ENGINE)

    return _run


@pytest.fixture
def valid_model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(VALID_MODEL)
    return path


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_model_file_is_a_usage_error(cli, tmp_path):
    missing = tmp_path / "no_such_model.py"
    result = cli("eval", str(missing), "--json")
    assert result.code == EXIT_USAGE
    line = _one_line(result.stderr)
    assert "no_such_model.py" in line
    assert result.stdout == ""


def test_syntax_error_is_invalid_submission(cli, tmp_path):
    model = tmp_path / "broken.py"
    model.write_text("import torch.nn as nn\n\nclass Model(nn.Module:\n    pass\n")
    result = cli("eval", str(model), "--json", "--seeds", "1")
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    assert "Traceback" not in result.stderr
    report = result.report
    assert report["status"] == "invalid_submission"
    assert "line 3" in report["message"]
    assert report["aggregate"] == {}
    assert [s["status"] for s in report["seeds"]] == ["invalid_submission"]


def test_unknown_dataset_names_close_matches(cli, valid_model):
    # Issue 3's contract: an unknown dataset is exit 1 with one line of close matches.
    result = cli("eval", str(valid_model), "--json", "--dataset", "digitz")
    assert result.code == EXIT_ERROR
    line = _one_line(result.stderr)
    assert "digitz" in line and "did you mean digits" in line
    assert "research-agent datasets" in line
    assert result.stdout == ""


def test_unknown_dataset_without_close_match(cli, valid_model):
    result = cli("eval", str(valid_model), "--json", "--dataset", "imagenet-22k")
    assert result.code == EXIT_ERROR
    line = _one_line(result.stderr)
    assert "imagenet-22k" in line and "did you mean" not in line
    assert result.stdout == ""


def test_unreadable_memory_is_a_usage_error(cli, valid_model):
    result = cli("eval", str(valid_model), "--json", "--memory", "lots")
    assert result.code == EXIT_USAGE
    assert "--memory" in _one_line(result.stderr)
    assert result.stdout == ""


def test_unreachable_engine_says_how_to_start_it(cli, valid_model):
    result = cli("eval", str(valid_model), "--json", "--seeds", "1")
    assert result.code == EXIT_ERROR
    line = _one_line(result.stderr)
    assert "Docker engine" in line
    assert "make engine" in line or "DOCKER_HOST" in line
    assert result.stdout == ""


def test_runs_commands_take_home_after_their_name(tmp_path):
    """`run --home DIR` is in the contract; the commands a user types next accept it in the same place."""
    from agent.registry import open_registry

    elsewhere, default = tmp_path / "elsewhere", tmp_path / "default"
    with open_registry(elsewhere) as reg:
        run = reg.create_run("Design a model for digits with at least 95% accuracy", {"metric": "accuracy"}, 0)
    listed = run_cli("runs", "list", "--home", str(elsewhere), "--json", home=default)
    assert listed.code == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [run.id]
    shown = run_cli("runs", "show", run.id, "--home", str(elsewhere), "--json", home=default)
    assert shown.code == 0 and json.loads(shown.stdout)["run"]["id"] == run.id
    # without it, the environment's home (empty here) is used: the run is not there
    missing = run_cli("runs", "show", run.id, "--json", home=default)
    assert missing.code == 1 and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "expected"), [
    (("--metric", "acuracy", "--target", "0.9"), "--metric: unknown metric 'acuracy'; use one of: accuracy, "),
    (("--metric", "acuracy"), "--metric: unknown metric 'acuracy'; use one of: accuracy, "),
    (("--target", "1.9"), "a target of 1.9 is outside accuracy's range [0, 1]; give a fraction such as 0.9"),
    (("--metric", "mcc", "--target", "-1.5"), "a target of -1.5 is outside mcc's range [-1, 1]"),
    (("--seeds", "1", "--target", "0.9"), "--seeds 1 with --target: one seed never claims a goal"),
])
def test_eval_refuses_a_goal_it_cannot_decide_before_any_container(cli, valid_model, args, expected):
    # Before the typed metric check, a typo gave n = 0 and "undecided", and 1.9 ran as a goal.
    r = cli("eval", str(valid_model), "--dataset", "digits", *args)
    assert r.code == EXIT_USAGE, r.stderr
    assert r.stderr.count("\n") == 1 and expected in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (("--goal", "Design a model for digits with at least 190% accuracy"),
     "a target of 1.9 is outside accuracy's range [0, 1]"),
    (("--dataset", "digits", "--target", "1.9"), "a target of 1.9 is outside accuracy's range [0, 1]"),
    (("--dataset", "digits", "--metric", "acuracy", "--target", "0.9"), "unknown metric 'acuracy'; use one of:"),
])
def test_run_refuses_a_goal_outside_the_metric_before_planning(cli, args, expected):
    # Before: "at least 190% accuracy" was accepted and the loop burned its whole budget on it.
    r = cli("run", "--json", "--budget-minutes", "0.1", *args)
    assert r.code == EXIT_USAGE, r.stderr
    assert expected in r.stderr and "Traceback" not in r.stderr and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
