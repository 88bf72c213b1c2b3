"""The OpenAI-compatible client against a scripted local endpoint (the real `openai` package, no internet)."""

from __future__ import annotations

import json
import socket

import pytest

from agent.planner import (
    MODES,
    LLMBudgetExhausted,
    LLMReplayMismatch,
    LLMSettings,
    LLMUnavailable,
    OpenAIChatClient,
    ReplayChatClient,
    probe,
)
from tests.fake_llm import FakeLLM, Reply, accepting, chat, error, format_refusal_500

KEY = "sk-test-SECRETKEY0123456789abcdef"
ENV = {"TEST_LLM_KEY": KEY}
MESSAGES = [{"role": "user", "content": "propose"}]
SCHEMA = {"type": "object"}


def client(server: FakeLLM, recorded: list, sleeps: list | None = None, **kw) -> OpenAIChatClient:
    settings = LLMSettings(**{"base_url": server.url, "model": "test", "api_key_env": "TEST_LLM_KEY",
                              "timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.01} | kw)
    c = OpenAIChatClient(settings, ENV, sleep=(sleeps.append if sleeps is not None else lambda s: None))
    c.bind(recorded.append)
    return c


def test_an_answer_is_returned_recorded_and_counted():
    recorded: list = []
    with FakeLLM([chat("hello", prompt_tokens=11, completion_tokens=7)]) as server:
        c = client(server, recorded)
        result = c.complete(MESSAGES, "propose", step=1, schema=SCHEMA)
    assert (result.content, result.prompt_tokens, result.completion_tokens) == ("hello", 11, 7)
    sent = server.chat_requests[0]
    assert sent["body"]["model"] == "test" and sent["body"]["messages"] == MESSAGES
    assert sent["body"]["response_format"]["type"] == "json_schema"
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["authorization"] == f"Bearer {KEY}"  # the key goes to the endpoint, nowhere else
    [ex] = recorded
    assert ex.purpose == "propose" and ex.request["step"] == 1 and ex.request["call"] == 1
    assert ex.response["choices"][0]["message"]["content"] == "hello" and ex.prompt_tokens == 11
    assert KEY not in json.dumps([e.model_dump() for e in recorded])
    assert (c.budget.calls, c.budget.tokens) == (1, 18)


def test_429_then_success_backs_off_and_honours_retry_after():
    recorded, sleeps = [], []
    with FakeLLM([error(429, "slow down", headers={"retry-after": "0.2"}), chat("ok")]) as server:
        result = client(server, recorded, sleeps).complete(MESSAGES, "propose", 1)
    assert result.content == "ok" and len(server.chat_requests) == 2
    assert sleeps == [0.2]
    assert recorded[0].error.startswith("rate_limited") and recorded[1].response is not None
    assert [e.request["attempt"] for e in recorded] == [1, 2]


def test_500_forever_stops_after_the_retries_with_growing_backoff():
    recorded, sleeps = [], []
    with FakeLLM([error(500, "boom")]) as server, pytest.raises(LLMUnavailable, match="server_error after 3"):
        client(server, recorded, sleeps).complete(MESSAGES, "propose", 1)
    assert len(server.chat_requests) == 3 and sleeps == [0.01, 0.02]
    assert all(e.error.startswith("server_error") for e in recorded)


def test_an_endpoint_that_times_out_is_retried_then_given_up():
    recorded: list = []
    with FakeLLM([Reply(content="late", delay_s=1.5)]) as server:
        settings = LLMSettings(base_url=server.url, model="test", timeout_s=0.3, max_retries=1, backoff_s=0)
        c = OpenAIChatClient(settings, {}, sleep=lambda s: None)
        c.bind(recorded.append)
        with pytest.raises(LLMUnavailable, match="timeout after 2"):
            c.complete(MESSAGES, "propose", 1)
    assert [e.error.split(":")[0] for e in recorded] == ["timeout", "timeout"]


@pytest.mark.parametrize("omit_length", [False, True], ids=["content-length", "streamed"])
def test_a_huge_response_is_refused_not_parsed(omit_length):
    recorded: list = []
    huge = chat("x" * 3_000_000, omit_length=omit_length)
    with FakeLLM([huge]) as server, pytest.raises(LLMUnavailable, match="too_large"):
        client(server, recorded).complete(MESSAGES, "propose", 1)
    assert len(server.chat_requests) == 1 and recorded[0].response is None


def test_a_body_that_is_not_a_completion_is_a_bad_response():
    with FakeLLM([Reply(raw=b"<html>proxy error</html>")]) as server, pytest.raises(LLMUnavailable, match="bad_resp"):
        client(server, []).complete(MESSAGES, "propose", 1)


def _modes(server: FakeLLM) -> list[str]:
    out = []
    for r in server.chat_requests:
        fmt = r["body"].get("response_format")
        out.append("text" if fmt is None else fmt["type"] + ("+schema" if "schema" in fmt else ""))
    return out


def test_a_text_only_server_is_negotiated_down_once_and_gets_the_schema_in_the_prompt():
    recorded, sleeps = [], []
    with FakeLLM(accepting("text", answer="plain")) as server:
        c = client(server, recorded, sleeps)
        assert c.complete(MESSAGES, "propose", 1, SCHEMA).content == "plain"
        assert c.complete(MESSAGES, "propose", 2, SCHEMA).content == "plain"
    assert _modes(server) == ["json_schema", "json_object+schema", "json_object", "text", "text"]
    assert sleeps == []  # a refusal is not retried: it moves to the next mode at once
    assert [e.request["mode"] for e in recorded] == list(MODES) + ["text"]
    assert [e.error.split(":")[0] if e.error else None for e in recorded] == ["format_rejected"] * 3 + [None, None]
    text_prompt = server.chat_requests[3]["body"]["messages"][-1]["content"]
    assert text_prompt.startswith("propose") and json.dumps(SCHEMA, separators=(",", ":")) in text_prompt
    assert c.mode == "text"


def test_a_json_schema_server_is_asked_once_in_that_mode():
    recorded: list = []
    with FakeLLM(accepting("json_schema", answer="{}")) as server:
        c = client(server, recorded)
        c.complete(MESSAGES, "propose", 1, SCHEMA)
    assert _modes(server) == ["json_schema"] and recorded[0].request["mode"] == "json_schema"
    assert server.chat_requests[0]["body"]["messages"] == MESSAGES  # no schema text needed in the prompt


def test_a_500_that_names_response_format_is_a_refusal_not_a_server_error():
    def script(body, index):
        fmt = body.get("response_format") or {}
        return format_refusal_500(fmt["type"]) if fmt.get("type") == "json_schema" else chat("{}")

    recorded, sleeps = [], []
    with FakeLLM(script) as server:
        c = client(server, recorded, sleeps)
        c.complete(MESSAGES, "propose", 1, SCHEMA)
    assert _modes(server) == ["json_schema", "json_object+schema"] and sleeps == []
    assert recorded[0].error.startswith("format_rejected") and c.mode == "json_object+schema"
    assert server.chat_requests[1]["body"]["response_format"] == {"type": "json_object", "schema": SCHEMA}


def test_a_resumed_run_starts_from_the_mode_its_last_answer_used():
    past = [{"request": {"call": 1, "mode": "json_schema"}, "error": "format_rejected: x", "response": None},
            {"request": {"call": 1, "mode": "json_object"}, "response": {"choices": []}}]
    with FakeLLM(accepting("json_object", answer="{}")) as server:
        c = client(server, [])
        c.bind(lambda e: None, past)
        c.complete(MESSAGES, "propose", 2, SCHEMA)
    assert _modes(server) == ["json_object"]


def test_everything_refused_is_unavailable_with_the_last_kind():
    with FakeLLM([error(400, "response_format is not supported")]) as server, \
            pytest.raises(LLMUnavailable, match="format_rejected after 4 attempt") as err:
        client(server, []).complete(MESSAGES, "propose", 1, SCHEMA)
    assert err.value.kind == "format_rejected" and len(server.chat_requests) == 4


def test_an_answer_cut_off_at_max_tokens_is_recorded_as_truncated():
    recorded: list = []
    with FakeLLM([chat('{"kind": "spec", "mod', finish_reason="length")]) as server:
        result = client(server, recorded, answer_tokens=128).complete(MESSAGES, "propose", 1, SCHEMA)
    assert result.truncated and result.content.endswith('"mod')
    assert recorded[0].response is not None
    assert recorded[0].error == "truncated: the answer stopped at max_tokens (128)"
    assert server.chat_requests[0]["body"]["max_tokens"] == 128


def test_the_defaults_fit_a_slow_local_server():
    settings = LLMSettings(base_url="http://127.0.0.1:1/v1", model="m")
    assert settings.answer_tokens == 1024 and settings.timeout_s >= 300


def test_an_auth_error_is_not_retried():
    with FakeLLM([error(401, "bad key")]) as server, pytest.raises(LLMUnavailable, match="http_401 after 1"):
        client(server, []).complete(MESSAGES, "propose", 1)
    assert len(server.chat_requests) == 1


def test_the_budget_of_calls_and_tokens_is_enforced_and_counts_a_resumed_runs_calls():
    with FakeLLM([chat("a", prompt_tokens=60, completion_tokens=40)]) as server:
        c = client(server, [], max_calls=2)
        c.complete(MESSAGES, "propose", 1)
        c.complete(MESSAGES, "propose", 2)
        with pytest.raises(LLMBudgetExhausted, match="2 calls"):
            c.complete(MESSAGES, "propose", 3)
        t = client(server, [], max_tokens=150)
        t.complete(MESSAGES, "propose", 1)
        t.complete(MESSAGES, "propose", 2)
        with pytest.raises(LLMBudgetExhausted, match="200 tokens"):
            t.complete(MESSAGES, "propose", 3)
        resumed = client(server, [], max_calls=3)
        resumed.bind(lambda e: None, [{"request": {"call": 1}, "prompt_tokens": 5}, {"request": {"call": 2}},
                                      {"request": {"step": 3}, "fallback_reason": "x"}])
        resumed.complete(MESSAGES, "propose", 4)
        with pytest.raises(LLMBudgetExhausted):
            resumed.complete(MESSAGES, "propose", 5)
    assert len(server.chat_requests) == 5


def test_probe_reachable_and_unreachable():
    with FakeLLM([chat("x")]) as server:
        assert probe(LLMSettings(base_url=server.url, model="test"), {}) is None
        url = server.url
    assert probe(LLMSettings(base_url=url, model="test"), {}, timeout_s=0.5) == "cannot connect"


def test_replay_returns_the_recorded_outcomes_in_order_without_any_network(monkeypatch):
    recorded: list = []
    with FakeLLM([error(429), chat("first"), error(500)]) as server:
        live = client(server, recorded, max_retries=1)
        assert live.complete(MESSAGES, "propose", 1).content == "first"
        with pytest.raises(LLMUnavailable):
            live.complete(MESSAGES, "repair", 2)
    rows = [e.model_dump() for e in recorded] + [{"purpose": "fallback", "request": {"step": 2}}]

    def no_network(*a, **k):
        raise AssertionError("the replay touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    again: list = []
    replay = ReplayChatClient(LLMSettings(base_url="http://unused/v1", model="test"), rows, source_run="run-x")
    replay.bind(again.append)
    assert replay.complete(MESSAGES, "propose", 1).content == "first"
    with pytest.raises(LLMUnavailable, match="replayed from run-x") as err:
        replay.complete(MESSAGES, "repair", 2)
    assert err.value.kind == "server_error"  # a replayed fallback is counted under the same reason
    assert len(again) == len(recorded) and all(e.request["replayed_from"] == "run-x" for e in again)
    with pytest.raises(LLMReplayMismatch, match="recorded 2 LLM call"):
        replay.complete(MESSAGES, "propose", 3)


def test_replay_mismatch_names_both_sides():
    rows = [{"purpose": "propose", "request": {"call": 1, "step": 1}, "response": json.loads(
        '{"choices": [{"message": {"content": "x"}}]}')}]
    replay = ReplayChatClient(LLMSettings(base_url="http://unused/v1", model="test"), rows, source_run="run-y")
    with pytest.raises(LLMReplayMismatch, match="call 1 was propose for trial 1, this run asks for repair for trial 1"):
        replay.complete(MESSAGES, "repair", 1)


def test_a_key_the_server_echoes_back_is_scrubbed_before_it_is_recorded_or_returned():
    plain = "plainsecretvalue-42-abcdefgh"  # no sk- prefix: only the client knows it is the key
    recorded: list = []
    with FakeLLM([error(500, f"bad key {plain}"), chat(f"your key is {plain}")]) as server:
        c = OpenAIChatClient(LLMSettings(base_url=server.url, model="test", api_key_env="K", max_retries=1,
                                         backoff_s=0), {"K": plain}, sleep=lambda s: None)
        c.bind(recorded.append)
        result = c.complete(MESSAGES, "propose", 1)
    assert plain not in result.content and "[redacted]" in result.content
    assert plain not in json.dumps([e.model_dump() for e in recorded])


def test_length_bounds_stay_local_and_never_reach_a_grammar_server():
    from agent.planner import answer_schema

    schema = answer_schema()
    assert "maxLength" in json.dumps(schema)  # the source cap is ours (pydantic enforces it)
    with FakeLLM(accepting("json_object+schema", answer="{}")) as server:
        client(server, []).complete(MESSAGES, "propose", 1, schema)
    sent = [r["body"].get("response_format") for r in server.chat_requests]
    assert sent[-1]["type"] == "json_object"
    assert all("maxLength" not in json.dumps(s) and "maxItems" not in json.dumps(s) for s in sent if s)
    assert "oneOf" in json.dumps(sent[-1]["schema"])  # the rest of the schema is kept
