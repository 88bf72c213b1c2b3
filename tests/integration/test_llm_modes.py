"""`research-agent run --planner llm` on the real engine against scripted endpoints that differ in
the structured output they accept: the run negotiates, records the mode, and says who planned.

The real-model counterpart (llama-cpp-python serving SmolLM2) is test_llm_real_server.py.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.fake_llm import FakeLLM, accepting

pytestmark = pytest.mark.docker

SPEC = {"kind": "spec", "model": {"family": "mlp", "depth": 2, "width": 256, "dropout": 0.1},
        "training": {"optimizer": "adam", "lr": 0.002, "epochs": 20, "batch_size": 64},
        "rationale": "a wider MLP trained properly"}
NO_OPENAI_ENV = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
GOAL = ("run", "--goal", "Design a model for the digits dataset", "--target", "0.9", "--budget-minutes", "8")


def export(home, run_id: str) -> dict:
    return json.loads(run_cli("runs", "show", run_id, "--json", home=home).stdout)


@pytest.mark.parametrize("mode", ["json_schema", "text"])
def test_a_server_that_takes_one_mode_gets_a_working_run_that_records_it(sandbox_image, tmp_path, mode):
    home = tmp_path / "home"
    with FakeLLM(accepting(mode, answer=SPEC)) as server:
        live = run_cli(*GOAL, "--max-iterations", "4", "--planner", "llm", "--llm-base-url", server.url,
                       "--llm-model", "test", "--json", home=home, timeout=900, env=NO_OPENAI_ENV)
    assert live.code == 0, live.stderr[-3000:]
    doc = live.report
    assert doc["status"] == "achieved" and doc["planning"]["llm"] >= 1
    run = export(home, doc["run_id"])
    planned = [t["rung"]["planned_by"] for t in run["trials"]]
    assert planned[0] == "llm" and set(planned[1:]) == {"schedule"}, planned  # promote, then the statistics
    calls = [c for c in run["llm_calls"] if c["purpose"] != "fallback"]
    answered = [c for c in calls if c["response"] is not None]
    assert answered and {c["request"]["mode"] for c in answered} == {mode}
    refused = [c["request"]["mode"] for c in calls if c["response"] is None]
    assert all(c["error"].startswith("format_rejected") for c in calls if c["response"] is None)
    assert len(refused) == (0 if mode == "json_schema" else 3)  # negotiated once, then kept for the run


def test_an_endpoint_that_refuses_everything_says_the_llm_planned_nothing(sandbox_image, tmp_path):
    home = tmp_path / "home"
    with FakeLLM(accepting()) as server:  # no mode at all, not even plain text
        live = run_cli(*GOAL, "--max-iterations", "3", "--planner", "llm", "--llm-base-url", server.url,
                       "--llm-model", "test", home=home, timeout=900, env=NO_OPENAI_ENV)
    assert live.code in (0, 3), live.stderr[-3000:]
    line = next(x for x in live.stdout.splitlines() if x.startswith("planning:"))
    assert line.startswith("planning: the LLM planned 0 of 3 trials") and "format_rejected" in line, line
    assert "[fallback: format_rejected]" in live.stderr
    (md,) = list(home.rglob("RESEARCH_REPORT.md"))
    (page,) = list(home.rglob("report.html"))
    assert "**The LLM planned 0 of 3 trials" in md.read_text() and "format_rejected" in md.read_text()
    assert "id='planning' class='warn'" in page.read_text() and "the LLM planned 0 of 3 trials" in page.read_text()
    run_id = md.parent.name
    shown = run_cli("runs", "show", run_id, home=home)
    assert "planning: the LLM planned 0 of 3 trials" in shown.stdout, shown.stdout
    trials = export(home, run_id)["trials"]
    assert {t["rung"]["planned_by"] for t in trials} <= {"fallback", "schedule"}
    assert all(t["rung"]["fallback"] == "format_rejected" for t in trials if t["rung"]["planned_by"] == "fallback")
