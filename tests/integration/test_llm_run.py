"""End to end on the real engine: `research-agent run --planner llm` against a scripted local endpoint.

The endpoint first proposes free model source with a bug (a head of 5 outputs for 10 classes),
then the repaired source (it trains, but with settings too weak for the target), then a typed
spec that can reach it. The run proposes, generates, repairs, evaluates and reaches the goal with
the statistics; `--replay RUN` then makes the same decisions with the endpoint gone.
"""

from __future__ import annotations

import json
import os

from tests.conftest import run_cli
from tests.fake_llm import FakeLLM, chat

BUGGY = """import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))

    def forward(self, x):
        return self.net(x)
"""
REPAIRED = BUGGY.replace("nn.Linear(64, 5)", "nn.Linear(64, 10)")
SCRIPT = [
    chat({"kind": "source", "source": BUGGY, "rationale": "a small MLP written by hand",
          "training": {"optimizer": "sgd", "lr": 0.0001, "epochs": 1, "batch_size": 64}}),
    chat({"kind": "source", "source": REPAIRED, "rationale": "the head had 5 outputs; digits has 10 classes",
          "training": {"optimizer": "sgd", "lr": 0.0001, "epochs": 1, "batch_size": 64}}),
    chat({"kind": "spec", "model": {"family": "mlp", "depth": 2, "width": 256, "dropout": 0.1},
          "training": {"optimizer": "adam", "lr": 0.002, "epochs": 20, "batch_size": 64},
          "rationale": "a wider MLP trained properly"}),
]
NO_OPENAI_ENV = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}


def export(home, run_id: str) -> dict:
    return json.loads(run_cli("runs", "show", run_id, "--json", home=home).stdout)


def test_llm_run_repairs_generated_code_reaches_the_goal_and_replays(sandbox_image, tmp_path):
    home = tmp_path / "home"
    args = ("run", "--goal", "Design a model for the digits dataset", "--target", "0.9", "--budget-minutes", "8",
            "--max-iterations", "8", "--json")
    with FakeLLM(SCRIPT) as server:
        live = run_cli(*args, "--planner", "llm", "--llm-base-url", server.url, "--llm-model", "test", home=home,
                       timeout=900, env=NO_OPENAI_ENV)
        n_requests = len(server.chat_requests)
    assert live.code == 0, live.stderr[-3000:]
    assert f"planner: llm (test at {server.url})" in live.stderr
    doc = live.report
    assert doc["status"] == "achieved" and doc["decision"]["on_fresh_seeds"]
    run = export(home, doc["run_id"])
    trials = run["trials"]
    actions = [(t["rung"]["action"], t["status"]) for t in trials]
    assert actions[0][0] == "smoke" and actions[0][1] != "ok", actions
    assert "shape" in trials[0]["message"], trials[0]["message"]
    assert actions[1:4] == [("smoke", "ok"), ("promote", "ok"), ("promote", "ok")], actions
    assert actions[-1] == ("confirm", "ok")
    assert trials[0]["source"] == BUGGY and trials[1]["source"] == REPAIRED  # the generated code is kept
    assert trials[3]["spec"]["model"]["family"] == "mlp" and trials[3]["spec"]["origin"] == "llm"
    calls = [c for c in run["llm_calls"] if c["purpose"] != "fallback"]
    assert [c["purpose"] for c in calls] == ["propose", "repair", "propose"] and n_requests == 3
    assert "<untrusted-sandbox-output>" in calls[1]["request"]["body"]["messages"][1]["content"]

    # The endpoint is gone: the replay answers from the registry and makes the same decisions.
    replay = run_cli("run", "--replay", doc["run_id"], "--json", home=home, timeout=900, env=NO_OPENAI_ENV)
    assert replay.code == 0, replay.stderr[-3000:]
    assert f"replaying {doc['run_id']}" in replay.stderr
    again = export(home, replay.report["run_id"])
    assert [t["spec"] for t in again["trials"]] == [t["spec"] for t in trials]
    assert [t["status"] for t in again["trials"]] == [t["status"] for t in trials]
    assert again["run"]["config"]["replay_of"] == doc["run_id"]
    assert os.environ.get("OPENAI_API_KEY", "") == "" or os.environ["OPENAI_API_KEY"] not in json.dumps(again)
