"""The LLM planner against a real OpenAI-compatible server running a real model, end to end.

llama-cpp-python's server (``make llm-server``) serves SmolLM2-135M-Instruct on 127.0.0.1 for this
module. It refuses ``json_schema`` with an HTTP 500 and takes ``json_object`` with a ``schema``
(grammar-constrained): the run must negotiate that, plan with the model's answers, record every
exchange, keep the goal decision with the statistics, and replay without the server.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import IN_CI, run_cli
from tests.llm_server import ALIAS, PYTHON, LlamaServer

pytestmark = pytest.mark.docker

NO_OPENAI_ENV = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
GOAL = "Design a model for the digits dataset with at least 90% accuracy"
MAX_CALLS = 6  # about a minute each on one core: the cap keeps this module to a few minutes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not PYTHON.is_file():
        message = f"the LLM test server is not installed ({PYTHON}); run `make llm-server`"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with LlamaServer(tmp_path_factory.mktemp("llama") / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def live(server, sandbox_image, tmp_path_factory):
    """One real run, shared by the tests below (each looks at another side of it)."""
    home = tmp_path_factory.mktemp("llm-home")
    result = run_cli("run", "--goal", GOAL, "--planner", "llm", "--llm-base-url", server.url, "--llm-model", ALIAS,
                     "--llm-max-calls", str(MAX_CALLS), "--max-iterations", "5", "--budget-minutes", "20",
                     "--json", home=home, timeout=1800, env=NO_OPENAI_ENV)
    assert result.code in (0, 3), result.stderr[-4000:] + "\n--- server ---\n" + server.tail()
    export = json.loads(run_cli("runs", "show", result.report["run_id"], "--json", home=home).stdout)
    return home, result, export


def _calls(export: dict) -> list[dict]:
    return [c for c in export["llm_calls"] if c["purpose"] != "fallback"]


def test_llm_check_reports_json_object_with_schema(server):
    result = run_cli("llm-check", "--llm-base-url", server.url, "--llm-model", ALIAS, "--json",
                     home=server.log.parent, timeout=900, env=NO_OPENAI_ENV)
    assert result.code == 0, result.stderr + server.tail()
    report = result.report
    assert report["mode"] == "json_object+schema", report
    assert report["modes"]["json_schema"].startswith("refused"), report["modes"]
    assert ALIAS in report["models"]
    assert report["first_token_s"] > 0 and report["tokens_per_s"] > 0
    assert report["api_key_env"] == "OPENAI_API_KEY" and report["api_key_set"] is False


def test_the_real_model_plans_through_the_negotiated_mode(live):
    _, result, export = live
    planning = result.report["planning"]
    assert planning["llm"] >= 1, planning  # at least one real answer became a trial
    assert "[llm]" in result.stderr
    calls = _calls(export)
    answered = [c for c in calls if c["response"] is not None]
    assert answered and {c["request"]["mode"] for c in answered} == {"json_object+schema"}
    first = calls[0]
    assert first["request"]["mode"] == "json_schema" and first["error"].startswith("format_rejected")
    assert sum(c["request"]["mode"] == "json_schema" for c in calls) == 1  # refused once, not retried


def test_every_exchange_is_recorded_and_each_fallback_says_why(live):
    _, result, export = live
    calls = _calls(export)
    assert len({c["request"]["call"] for c in calls}) <= MAX_CALLS
    assert all((c["response"] is not None) or c["error"] for c in calls)
    assert all(c["latency_s"] is not None and c["request"]["body"]["max_tokens"] == 1024 for c in calls)
    fallbacks = [c for c in export["llm_calls"] if c["purpose"] == "fallback"]
    assert all(c["fallback_reason"] and c["request"]["kind"] for c in fallbacks)
    planned = [t["rung"] for t in export["trials"]]
    assert all(p["fallback"] for p in planned if p["planned_by"] == "fallback")
    assert sum(p["planned_by"] == "fallback" for p in planned) == result.report["planning"]["fallback"]


def test_the_statistics_decide_the_goal_and_generated_source_is_contained(live):
    home, result, export = live
    doc = result.report
    assert doc["status"] in ("achieved", "not_achieved", "inconclusive")
    if doc["status"] == "achieved":
        assert doc["decision"]["on_fresh_seeds"] and doc["decision"]["lower_bound"] >= 0.9
    for trial in export["trials"]:
        assert trial["state"] == "finished" and trial["status"], trial  # a bad model is a trial, not a crash
    report = next(home.rglob("RESEARCH_REPORT.md")).read_text()
    assert "the LLM planned" in report.lower()


def test_a_replay_reproduces_the_run_without_the_server(live):
    home, result, export = live
    replay = run_cli("run", "--replay", result.report["run_id"], "--json", home=home, timeout=1800,
                     env=NO_OPENAI_ENV | {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})  # nothing listens there
    assert replay.code == result.code, replay.stderr[-3000:]
    again = json.loads(run_cli("runs", "show", replay.report["run_id"], "--json", home=home).stdout)
    assert [t["spec"] for t in again["trials"]] == [t["spec"] for t in export["trials"]]
    assert [t["rung"]["planned_by"] for t in again["trials"]] == [t["rung"]["planned_by"] for t in export["trials"]]
    assert replay.report["planning"] == result.report["planning"]
