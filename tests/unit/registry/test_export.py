"""JSON export: the whole run in one consistent view, stable key order, atomic file."""

import json

import pytest

from agent.errors import RegistryError
from agent.registry import EXPORT_VERSION, SCHEMA_VERSION

from .conftest import SPEC, run_trial


def populated(reg, run, tmp_path):
    done = run_trial(reg, run.id, accuracy=0.92)
    reg.start_trial(run.id, SPEC, rung={"rung": 0})
    path = tmp_path / "plot.png"
    path.write_bytes(b"\x89PNG")
    reg.add_artifact(run.id, path, "plot", trial_id=done.id)
    reg.record_llm_call(run.id, "propose", {"model": "m", "api_key": "sk-secret-0123456789"}, {"ok": True})
    reg.set_run_status(run.id, "achieved", {"decision": "achieved"}, best_trial_id=done.id)
    return done


def test_export_run_holds_the_run_trials_seeds_artifacts_and_llm_calls(reg, run, tmp_path):
    done = populated(reg, run, tmp_path)
    data = reg.export_run(run.id)
    assert data["export_version"] == EXPORT_VERSION and data["registry_schema_version"] == SCHEMA_VERSION
    assert data["run"]["id"] == run.id and data["run"]["status"] == "achieved"
    assert data["run"]["best_trial_id"] == done.id
    assert [t["state"] for t in data["trials"]] == ["finished", "running"]
    assert [s["seed"] for s in data["trials"][0]["seeds"]] == [0, 1, 2] and data["trials"][1]["seeds"] == []
    assert data["artifacts"][0]["kind"] == "plot" and data["llm_calls"][0]["request"]["api_key"] == "[redacted]"
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain, strict JSON values


def test_export_keys_are_sorted_at_every_level(reg, run, tmp_path):
    populated(reg, run, tmp_path)

    def check(value):
        if isinstance(value, dict):
            assert list(value) == sorted(value)
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    check(reg.export_run(run.id))


def test_write_export_is_stable_and_atomic(reg, run, tmp_path):
    populated(reg, run, tmp_path)
    out = reg.write_export(run.id, tmp_path / "exports" / "run.json")
    text = out.read_text()
    assert json.loads(text) == reg.export_run(run.id)
    assert reg.write_export(run.id, out).read_text() == text  # same bytes for the same state
    assert [p.name for p in out.parent.iterdir()] == ["run.json"]  # no temporary file left


def test_write_export_to_an_unwritable_place(reg, run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RegistryError, match="cannot write the export to .*; choose a writable path"):
        reg.write_export(run.id, blocker / "run.json")


def test_export_of_an_unknown_run(reg):
    with pytest.raises(RegistryError, match="no run"):
        reg.export_run("run-20000101-000000-0000")
