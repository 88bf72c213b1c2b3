"""Issue 4 end to end on the real engine: metrics, intervals, curves, plots, goals, compare."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli

MLP = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""

ALL_SCALARS = {"accuracy", "balanced_accuracy", "top3_accuracy", "precision_macro", "recall_macro", "f1_macro",
               "f1_weighted", "f1_micro", "mcc", "cohen_kappa", "roc_auc", "pr_auc", "log_loss", "brier", "ece"}


@pytest.fixture(scope="module")
def three_seed_run(sandbox_image, agent_home, tmp_path_factory):
    work = tmp_path_factory.mktemp("stats")
    model = work / "mlp.py"
    model.write_text(MLP)
    out = work / "out"
    result = run_cli("eval", str(model), "--seeds", "3", "--epochs", "4", "--lr", "0.01", "--schedule", "cosine",
                     "--out", str(out), "--json", home=agent_home)
    return result, out, model


def test_report_has_every_metric_interval_and_curve(three_seed_run):
    result, out, _ = three_seed_run
    assert result.code == 0, result.stderr
    report = result.report
    assert report["status"] == "ok" and len(report["seeds"]) == 3
    for seed in report["seeds"]:
        assert ALL_SCALARS <= set(seed["metrics"])
        assert len(seed["confusion_matrix"]) == 10 and "per_class" in seed
        assert len(seed["curves"]["val_acc"]) == 4 and len(seed["curves"]["grad_norm"]) == 4
        lrs = seed["curves"]["lr"]
        assert lrs[0] == pytest.approx(0.01) and lrs[-1] < lrs[0]  # cosine schedule in force
        assert "dynamics" in seed
    acc = report["aggregate"]["accuracy"]
    assert acc["n"] == 3 and acc["ci_low"] < acc["mean"] < acc["ci_high"]
    assert "ci_low_with_test_noise" in acc
    summary = report["model_summary"]
    assert summary["flops_per_example"] > 0 and summary["peak_memory_bytes"] > 0


def test_validation_curves_are_recomputed_on_the_host(three_seed_run):
    result, _, _ = three_seed_run
    seed = result.report["seeds"][0]
    assert "curves_note" not in seed  # the host used val_probs.npy
    assert all(0.0 <= a <= 1.0 for a in seed["curves"]["val_acc"])


def test_out_dir_holds_report_and_plots(three_seed_run):
    result, out, _ = three_seed_run
    saved = json.loads((out / "report.json").read_text())
    assert saved["aggregate"]["accuracy"]["mean"] == pytest.approx(result.report["aggregate"]["accuracy"]["mean"])
    for name in ("learning_curves", "confusion_matrix", "metric_strip", "calibration"):
        png = out / saved["artifacts"][name]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_seeds_auto_decides_achieved(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    result = run_cli("eval", str(model), "--seeds", "auto", "--target", "0.9", "--epochs", "5", "--lr", "0.01",
                     "--json", home=agent_home)
    assert result.code == 0, result.stderr
    goal = result.report["goal"]
    assert goal["decision"] == "achieved" and goal["n"] == 3 and goal["lower_bound"] >= 0.9


def test_unreachable_target_is_not_achieved_or_inconclusive(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    result = run_cli("eval", str(model), "--seeds", "auto", "--target", "0.999", "--epochs", "3",
                     "--json", home=agent_home)
    goal = result.report["goal"]
    assert goal["decision"] in ("not_achieved", "inconclusive")
    assert goal["n"] >= 3 and goal["upper_bound"] is not None
    # The statistics, not the exit code, carry the goal: the trial itself succeeded.
    assert result.code == 0


def test_compare_two_saved_reports(three_seed_run, agent_home, tmp_path):
    result, out, model = three_seed_run
    worse = run_cli("eval", str(model), "--seeds", "3", "--epochs", "1", "--lr", "0.0005", "--json",
                    home=agent_home)
    (tmp_path / "b.json").write_text(worse.stdout)
    cmp = run_cli("compare", str(out / "report.json"), str(tmp_path / "b.json"), "--json", home=agent_home)
    assert cmp.code == 0, cmp.stderr
    row = json.loads(cmp.stdout)["comparisons"][0]
    assert row["n"] == 3 and row["mean_diff"] > 0 and row["p_a_better"] > 0.9
    assert "better" in row["verdict"]
    text = run_cli("compare", str(out / "report.json"), str(tmp_path / "b.json"), home=agent_home)
    assert text.code == 0 and "P(A>B)" in text.stdout


def test_parallel_seeds_report_their_workers(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    result = run_cli("eval", str(model), "--seeds", "2", "--epochs", "2", "--cpus", "2", "--parallel-seeds",
                     "--json", home=agent_home)
    assert result.code == 0, result.stderr
    assert result.report["model_summary"]["seed_workers"] == 2
    assert {s["seed"] for s in result.report["seeds"]} == {0, 1}


def test_early_stopping_records_the_stop(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    result = run_cli("eval", str(model), "--seeds", "1", "--epochs", "40", "--lr", "0.05", "--patience", "2",
                     "--json", home=agent_home)
    seed = result.report["seeds"][0]
    assert seed["stopped_epoch"] is not None and seed["stopped_epoch"] < 40
    assert len(seed["curves"]["val_loss"]) == seed["stopped_epoch"]


def test_quick_evaluator_names_map_to_eval(sandbox_image, agent_home, tmp_path):
    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    proc = subprocess.run(
        [sys.executable, "-c", "from agent.cli import quick_entry; quick_entry()", "--dataset", "digits",
         "--num-seeds", "2", "--target-accuracy", "0.5", "--epochs", "2", "--json", str(model)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**__import__("os").environ, "RESEARCH_AGENT_HOME": str(agent_home)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["seeds"]) == 2 and report["goal"]["target"] == 0.5


def test_python_api(sandbox_image, agent_home, tmp_path):
    import agent

    model = tmp_path / "mlp.py"
    model.write_text(MLP)
    config = agent.EvalConfig(seeds=2, epochs=2, lr=0.01)
    report = agent.evaluate(model, config, home=agent_home)
    assert isinstance(report, agent.EvalReport) and report.ok
    assert report.metric("accuracy").n == 2 and len(report.seed_values("accuracy")) == 2
    assert json.loads(report.to_json())["status"] == "ok"
