"""Issue 11, part 6: what the CLI prints for people reads at 80 columns (and at 60).

A value a user types next (a dataset name, a run id, a trial number, a metric, a status) shows in
full on one line; no line is wider than the terminal; descriptions wrap. Each table is rendered on
a real ``Console(width=...)``, and the commands run as a user would with ``COLUMNS`` set.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

from agent.data import listing, names
from agent.registry import RUN_ID_PATTERN, RunStatus, RunSummary, open_registry
from agent.report import print_eval
from agent.report._compare import print_comparison
from agent.report._console import datasets_table, print_run, runs_table
from agent.sandbox._doctor import Check, checks_table
from agent.scoring import aggregate, classification_metrics
from tests.conftest import run_cli
from tests.reports import make_report

WIDTHS = (80, 60)
# The longest id ``_new_run_id`` makes (after collisions: 4 hex bytes), and one like the docs.
LONGEST_ID, DOCS_ID = "run-20261201-214000-0123abcd", "run-20261201-214000-abc1"
LONG_GOAL = "Design a convolutional model for the fashion-mnist dataset with at least 93% accuracy in 20 minutes"


def render(renderable_or_printer, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    if callable(renderable_or_printer):
        renderable_or_printer(console)
    else:
        console.print(renderable_or_printer)
    return console.file.getvalue().splitlines()


def assert_fits(lines: list[str], width: int, *whole: str) -> None:
    """No line wider than ``width``; each of ``whole`` on one line, uncut; nothing ellipsized."""
    too_wide = [line for line in lines if cell_len(line) > width]
    assert too_wide == [], f"wider than {width}: {too_wide}"
    text = "\n".join(lines)
    missing = [w for w in whole if not re.search(rf"(?<![\w.-]){re.escape(w)}(?![\w.-])", text)]
    assert missing == [], f"not shown whole at {width} columns: {missing}\n" + "\n".join(lines)
    assert not any("…" in line for line in lines)


@pytest.fixture
def home(tmp_path):
    """A registry with two runs, one with trials, made through the registry API (no Docker)."""
    home = tmp_path / "home"
    with open_registry(home) as reg:
        short = reg.create_run("digits >= 0.9", {"metric": "accuracy"})
        run = reg.create_run(LONG_GOAL, {"metric": "accuracy"})
        for number, (action, status) in enumerate((("screen", "ok"), ("promote", "invalid_submission"))):
            trial = reg.start_trial(run.id, {"model": {"family": "mlp"}}, "class M: ...\n", rung={"action": action})
            reg.finish_trial(trial.id, _report(status, 0.9 + number / 100))
        reg.start_trial(run.id, {"model": {"family": "cnn"}}, "class M: ...\n", rung={"action": "add_seeds"})
        reg.set_run_status(run.id, "budget_exhausted", best_trial_id=trial.id)
        reg.set_run_status(short.id, "not_achieved")
    return home


def _report(status: str, accuracy: float):
    return make_report(status=status, accuracy=accuracy, message=f"the trial ended: {status} " + "detail " * 12)


def _run_ids(home) -> list[str]:
    with open_registry(home) as reg:
        return [r.id for r in reg.list_runs()]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_dataset_name_shows_whole(tmp_path, width):
    assert_fits(render(datasets_table(listing(tmp_path), width), width), width, *names())


@pytest.mark.parametrize("width", WIDTHS)
def test_run_ids_and_statuses_show_whole(home, width):
    made = RunSummary(id=LONGEST_ID, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
                      goal=LONG_GOAL * 2, status=RunStatus.BUDGET_EXHAUSTED, n_trials=120)
    with open_registry(home) as reg:
        rows = [*reg.list_runs(), made]
    assert all(RUN_ID_PATTERN.fullmatch(r.id) for r in rows) and RUN_ID_PATTERN.fullmatch(DOCS_ID)
    lines = render(runs_table(rows), width)
    assert_fits(lines, width, *(r.id for r in rows), "budget_exhausted", "not_achieved")


@pytest.mark.parametrize("width", WIDTHS)
def test_trial_numbers_and_statuses_show_whole(home, width):
    with open_registry(home) as reg:
        doc = reg.export_run(_run_ids(home)[0])
    lines = render(lambda console: print_run(doc, console), width)
    assert_fits(lines, width, doc["run"]["id"], "invalid_submission", "running", "add_seeds")
    assert [n for n in "123" if not any(re.match(rf"│ +{n} │", line) for line in lines)] == []


@pytest.mark.parametrize("width", WIDTHS)
def test_every_metric_name_shows_whole(width):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=40)
    per_seed = [classification_metrics(probs, rng.integers(0, 5, size=40)) for _ in range(3)]
    agg = aggregate(per_seed)
    report = make_report(seeds=(), message="scored", aggregate=agg, dataset={
        "name": "rotten-tomatoes-reviews", "n_train": 9, "n_test": 40, "n_classes": 5})
    assert len(agg) > 10 and "precision_weighted" in agg
    lines = render(lambda console: print_eval(report, console), width)
    assert_fits(lines, width, *agg, "rotten-tomatoes-reviews")


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_file_names_show_whole(width):
    a, b = "baseline_mlp_three_layers.json", "wider-mlp-with-dropout-0.3.json"
    row = {"a": f"/tmp/x/{a}", "b": f"/tmp/y/{b}", "n": 5, "p_value": 0.0123, "p_holm": 0.0246,
           "p_a_better": 0.991, "verdict": "A is better than B (+0.012, 95% CI [+0.004, +0.02], p=0.0123)"}
    lines = render(lambda console: print_comparison({"comparisons": [row]}, console), width)
    assert_fits(lines, width, a, b, "P(A>B)=0.991:")


@pytest.mark.parametrize("width", WIDTHS)
def test_doctor_next_steps_stay_whole(width):
    checks = [Check("sandbox image", "fail", "research-agent-sandbox:cpu not found " + "and more " * 8,
                    "run `make image`"), Check("docker engine", "ok", "server 20.10.24+dfsg1 (API 1.41)")]
    lines = render(checks_table(checks), width)
    assert_fits(lines, width, "research-agent-sandbox:cpu", "20.10.24+dfsg1")
    assert any(line.strip() == "-> run `make image`" for line in lines)


def test_the_commands_at_80_columns(home):
    env = {"COLUMNS": "80", "DOCKER_HOST": "unix:///nonexistent.sock"}
    datasets = run_cli("datasets", home=home, env=env)
    assert datasets.code == 0, datasets.stderr
    assert_fits(datasets.stdout.splitlines(), 80, *names())
    ids = _run_ids(home)
    listed = run_cli("runs", "list", home=home, env=env)
    assert listed.code == 0, listed.stderr
    assert_fits(listed.stdout.splitlines(), 80, *ids)
    shown = run_cli("runs", "show", ids[0], home=home, env=env)
    assert shown.code == 0, shown.stderr
    assert_fits(shown.stdout.splitlines(), 80, ids[0], "invalid_submission")


def test_json_output_is_unchanged(home):
    env = {"COLUMNS": "40"}
    catalog = json.loads(run_cli("datasets", "--json", home=home, env=env).stdout)
    assert [r["name"] for r in catalog] == [r["name"] for r in listing(home / "cache" / "datasets")]
    assert set(catalog[0]) >= {"name", "aliases", "modality", "n_classes", "input_shape", "source", "license",
                               "available_offline", "cached"}
    runs = json.loads(run_cli("runs", "list", "--json", home=home, env=env).stdout)
    assert [r["id"] for r in runs] == _run_ids(home) and runs[0]["goal"] == LONG_GOAL


def test_a_running_trial_shows_where_it_is(home):
    run_id = _run_ids(home)[0]
    with open_registry(home) as reg:
        (running,) = reg.list_trials(run_id, "running")
        reg.set_trial_progress(running.id, {"seed": 1, "epoch": 3, "epochs": 5, "val_acc": 0.8712, "seeds_done": 1,
                                            "seeds": 3, "elapsed_s": 42.0})
        doc = reg.export_run(run_id)
    text = "\n".join(render(lambda console: print_run(doc, console), 120))
    assert "seed 1 epoch 3/5, val_acc 0.8712 (1 of 3 seeds done, 42 s)" in text
    finished = "\n".join(render(lambda console: print_run(doc | {"trials": doc["trials"][:2]}, console), 120))
    assert "seeds done" not in finished  # a finished trial shows how it ended, not where it was
