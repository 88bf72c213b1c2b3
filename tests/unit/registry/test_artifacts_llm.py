"""Artifacts (hashed from the file) and LLM calls (redacted before they are stored)."""

import hashlib

import pytest

from agent.errors import RegistryError
from agent.registry import REDACTED, redact

from .conftest import run_trial

KEY = "sk-proj-ABCDEF0123456789abcdef"


def test_add_artifact_hashes_the_file_and_stores_a_run_relative_path(reg, run):
    trial = run_trial(reg, run.id)
    path = reg.run_dir(run.id) / trial.id / "model.py"
    path.parent.mkdir()
    path.write_bytes(b"class M: pass\n")
    art = reg.add_artifact(run.id, path, "model_source", trial_id=trial.id)
    assert (art.run_id, art.trial_id, art.kind) == (run.id, trial.id, "model_source")
    assert art.path == f"{trial.id}/model.py" and art.bytes == 14
    assert art.sha256 == hashlib.sha256(b"class M: pass\n").hexdigest()
    assert reg.list_artifacts(run.id) == [art]


def test_an_artifact_outside_the_run_folder_keeps_its_absolute_path(reg, run, tmp_path):
    path = tmp_path / "elsewhere.json"
    path.write_text("{}")
    art = reg.add_artifact(run.id, str(path), "report")
    assert art.path == str(path.resolve()) and art.trial_id is None and art.bytes == 2


def test_add_artifact_refuses_missing_files_and_foreign_trials(reg, run, tmp_path):
    with pytest.raises(RegistryError, match="cannot read artifact .*missing.bin.*write the file before"):
        reg.add_artifact(run.id, tmp_path / "missing.bin", "plot")
    other = reg.create_run("other", {})
    foreign = run_trial(reg, other.id)
    path = tmp_path / "a.txt"
    path.write_text("a")
    with pytest.raises(RegistryError, match="belongs to another run"):
        reg.add_artifact(run.id, path, "plot", trial_id=foreign.id)
    assert reg.list_artifacts(run.id) == []


def test_record_llm_call_stores_the_exchange(reg, run):
    call = reg.record_llm_call(
        run.id, "propose", {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]},
        {"choices": [{"message": {"content": "{}"}}]}, prompt_tokens=12, completion_tokens=3, latency_s=0.4)
    assert (call.purpose, call.prompt_tokens, call.completion_tokens, call.latency_s) == ("propose", 12, 3, 0.4)
    assert call.request["model"] == "gpt-x" and call.response["choices"][0]["message"]["content"] == "{}"
    failed = reg.record_llm_call(run.id, "propose", {"model": "gpt-x"}, error="timed out",
                                 fallback_reason="endpoint unreachable; used the search planner")
    assert failed.response is None and failed.fallback_reason.startswith("endpoint unreachable")
    assert reg.list_llm_calls(run.id) == [call, failed]


def test_the_api_key_never_reaches_the_store(reg, run, home):
    request = {"model": "m", "api_key": KEY, "headers": {"Authorization": f"Bearer {KEY}", "X-Api-Key": KEY},
               "base_url": f"http://localhost:8000/v1?api_key={KEY}"}
    call = reg.record_llm_call(run.id, "propose", request, error=f"401: Incorrect API key provided: {KEY}")
    assert call.request["api_key"] == REDACTED and call.request["headers"]["Authorization"] == REDACTED
    assert KEY not in repr(call)
    reg.close()
    for path in home.iterdir():  # the database, its WAL and shared-memory files
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path.name


def test_redact_walks_nested_values_and_leaves_other_data_alone():
    request = {
        "Authorization": "Bearer abc.def", "proxy-authorization": "Basic dXNlcjpwYXNz", "OPENAI_API_KEY": "x",
        "messages": [{"role": "user", "content": f"my key is {KEY}"}], "max_tokens": 100,
        "logprobs": [{"token": "the"}], "api_key": None, "password": "hunter2",
    }
    out = redact(request)
    assert out["Authorization"] == out["proxy-authorization"] == out["OPENAI_API_KEY"] == REDACTED
    assert out["password"] == REDACTED and out["api_key"] is None  # nothing to hide
    assert out["messages"][0]["content"] == f"my key is {REDACTED}"
    assert out["max_tokens"] == 100 and out["logprobs"] == [{"token": "the"}]
    assert request["Authorization"] == "Bearer abc.def"  # a copy: the caller's dict is unchanged


@pytest.mark.parametrize("text, expected", [
    ("Authorization: Bearer eyJhbGci.x-y_z", f"Authorization: Bearer {REDACTED}"),
    ("https://h/v1?key=abc123&x=1", f"https://h/v1?key={REDACTED}&x=1"),
    ("no secrets here, sk-short", "no secrets here, sk-short"),
])
def test_redact_text(text, expected):
    assert redact(text) == expected
