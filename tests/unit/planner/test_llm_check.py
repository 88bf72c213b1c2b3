"""`research-agent llm-check` against scripted endpoints (the real server: test_llm_real_server.py)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from agent.cli import main
from agent.planner import LLMSettings
from agent.planner._llm_check import check_endpoint
from tests.fake_llm import FakeLLM, accepting, chat, format_refusal_500

OK = {"ok": True, "word": "tree"}


def settings(server: FakeLLM, **kw) -> LLMSettings:
    return LLMSettings(**{"base_url": server.url, "model": "test", "timeout_s": 5.0, "api_key_env": "CHECK_KEY"} | kw)


def test_the_first_accepted_mode_is_reported_with_the_refusals_before_it():
    with FakeLLM(accepting("text", answer=OK)) as server:
        report = check_endpoint(settings(server), {"CHECK_KEY": "sk-secret-value-123"})
    assert report["mode"] == "text" and report["ok"]
    assert [m for m, v in report["modes"].items() if v.startswith("refused")] == [
        "json_schema", "json_object+schema", "json_object"]
    assert report["models"] == ["test"] and report["api_key_set"] is True
    assert "sk-secret-value-123" not in json.dumps(report)


def test_llama_cpp_pythons_500_refusal_leads_to_json_object_with_schema():
    def script(body, index):
        fmt = body.get("response_format") or {}
        return format_refusal_500("json_schema") if fmt.get("type") == "json_schema" else chat(OK)

    with FakeLLM(script) as server:
        report = check_endpoint(settings(server), {})
    assert report["mode"] == "json_object+schema" and report["modes"]["json_schema"].startswith("refused")
    assert report["api_key_set"] is False


def test_a_mode_whose_answer_is_not_json_is_skipped():
    def script(body, index):
        fmt = body.get("response_format") or {}
        return chat("Sure! Here is a word: tree") if fmt.get("type") == "json_schema" else chat(OK)

    with FakeLLM(script) as server:
        report = check_endpoint(settings(server), {})
    assert report["modes"]["json_schema"] == "accepted, but the answer is not a JSON object"
    assert report["mode"] == "json_object+schema"


def test_nothing_works_is_not_ok():
    with FakeLLM(accepting()) as server:
        report = check_endpoint(settings(server), {})
    assert report["mode"] is None and not report["ok"]


def test_without_an_endpoint_nothing_is_called(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    import openai

    monkeypatch.setattr(openai, "OpenAI", lambda *a, **k: (_ for _ in ()).throw(AssertionError("called")))
    result = CliRunner().invoke(main, ["llm-check", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"configured": False, "ok": False}
    assert "no LLM endpoint configured" in result.stderr and "nothing was called" in result.stderr


def test_the_cli_prints_one_line_per_finding():
    with FakeLLM(accepting("json_schema", answer=OK)) as server:
        result = CliRunner().invoke(main, ["llm-check", "--llm-base-url", server.url, "--llm-model", "test"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"endpoint   {server.url} (model test; $OPENAI_API_KEY is ")
    assert "structured json_schema" in lines and any(x.startswith("speed ") for x in lines)
