"""`research-agent doctor` on this machine after `make test`'s set-up: no check fails."""

from tests.conftest import run_cli
from tests.unit.cli.test_lazy_imports import HEAVY, heavy_in, imported


def test_doctor_is_green(sandbox_image, tmp_path):
    result = run_cli("doctor", "--json", home=tmp_path, timeout=120)
    doc = result.report
    names = [c["name"] for c in doc["checks"]]
    assert result.code == 0, result.stdout
    assert doc["ok"] is True
    for expected in ("docker engine", "runc", "cgroups", "user namespaces", "gVisor (runsc)",
                     "GPU runtime", "sandbox image", "seccomp in force", "privileges dropped",
                     "memory limit enforced", "pids limit enforced"):
        assert expected in names
    assert all(c["level"] in ("ok", "warn") for c in doc["checks"])
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["memory limit enforced"]["level"] == "ok"
    assert by_name["seccomp in force"]["level"] == "ok"


def test_doctor_fails_without_engine(tmp_path):
    result = run_cli("doctor", "--json", home=tmp_path, timeout=60,
                     env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == 1
    doc = result.report
    assert doc["ok"] is False and doc["checks"][0]["level"] == "fail"
    assert "make engine" in doc["checks"][0]["next_step"]


def test_doctor_imports_no_data_stack(sandbox_image, tmp_path):
    # Its probes run in containers: the host side needs docker-py and pydantic, not sklearn or torch.
    names = imported("doctor", "--json", home=tmp_path)
    assert "docker" in names
    assert heavy_in(names, HEAVY) == []
