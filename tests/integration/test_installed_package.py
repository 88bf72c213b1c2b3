"""The installed package, as a user who is not root but is in the docker group would use it.

The test builds the wheel from this checkout, creates a user, installs the wheel into a fresh venv
outside the checkout as that user, and drives the real CLI from a folder outside the checkout: the
image build (up to date, then from an empty cache), doctor, eval, run, runs, report and datasets.
It needs root (to create the user) and the real engine; CI runs as root.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

pytestmark = pytest.mark.docker

PYTHON = "/usr/bin/python3.11"  # the system Python a workstation user has (not the checkout's venv)
INSTALL_TIMEOUT_S = 900
MODEL = "agent/examples/mlp.py"


@dataclass
class User:
    name: str
    uid: int
    gid: int
    groups: list[int]
    home: Path
    root: Path  # everything this test made for the user lives under here

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def env(self, **extra: str) -> dict[str, str]:
        # Built from nothing: no PYTHONPATH, no checkout venv on PATH, none of root's settings.
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8",
               "PATH": f"{self.venv}/bin:/usr/local/bin:/usr/bin:/bin",
               "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k == "DOCKER_HOST"}
        return env | extra

    def run(self, *cmd: str, timeout: float = 600, cwd: Path | None = None, groups: list[int] | None = None,
            **env: str):
        return subprocess.run(list(cmd), user=self.uid, group=self.gid,
                              extra_groups=self.groups if groups is None else groups,
                              env=self.env(**env), cwd=cwd or self.work, capture_output=True, text=True,
                              timeout=timeout)

    def cli(self, *args: str, timeout: float = 600, groups: list[int] | None = None, **env: str):
        return self.run(str(self.venv / "bin" / "research-agent"), *args, timeout=timeout, groups=groups, **env)


def _pip_config_text() -> str:
    """This machine's pip settings (indexes, find-links) as an INI file, for the new user."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    sections: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.startswith(":env:") or "." not in key:
            continue  # PIP_* variables travel in the environment
        section, _, name = key.partition(".")
        sections.setdefault(section, []).append(f"{name} = {value.strip(chr(39))}")
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def _fail_or_skip(message: str):
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def user(sandbox_image):
    if os.geteuid() != 0:
        _fail_or_skip("creating the test's non-root user needs root (CI runs as root)")
    if not Path(PYTHON).is_file():
        _fail_or_skip(f"{PYTHON} (the system Python) is missing")
    try:
        docker_gid = grp.getgrnam("docker").gr_gid
    except KeyError:
        _fail_or_skip("no docker group on this machine; run `make engine`")
    name = f"ra{uuid.uuid4().hex[:8]}"
    root = Path(tempfile.mkdtemp(prefix="ra-installed-", dir="/tmp"))
    home = root / "home"
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh",
                    "--groups", "docker", name], check=True, capture_output=True)
    try:
        entry = pwd.getpwnam(name)
        assert docker_gid in os.getgrouplist(name, entry.pw_gid)
        u = User(name, entry.pw_uid, entry.pw_gid, os.getgrouplist(name, entry.pw_gid), home, root)
        (home / ".config" / "pip").mkdir(parents=True)
        (home / ".config" / "pip" / "pip.conf").write_text(_pip_config_text())
        u.work.mkdir()
        wheels = root / "dist"
        wheels.mkdir()
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels),
                                str(REPO)], capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stderr[-3000:]
        shutil.copy(REPO / MODEL, u.work / "mlp.py")
        subprocess.run(["chown", "-R", f"{u.uid}:{u.gid}", str(root)], check=True)
        os.chmod(root, 0o755)
        made = u.run(PYTHON, "-m", "venv", str(u.venv), cwd=root)
        assert made.returncode == 0, made.stderr
        (wheel,) = wheels.glob("research_agent-*.whl")
        pip = u.run(str(u.venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel),
                    timeout=INSTALL_TIMEOUT_S, cwd=root)
        assert pip.returncode == 0, pip.stderr[-3000:]
        yield u
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_the_install_is_the_wheel_not_the_checkout(user):
    where = user.run(str(user.venv / "bin" / "python"), "-c",
                     "import agent, agent.sandbox._files as f; print(agent.__file__); "
                     "print(f.checkout_root()); print(f.cache_dir())")
    assert where.returncode == 0, where.stderr
    agent_file, checkout, cache = where.stdout.splitlines()
    assert agent_file.startswith(str(user.venv)) and not agent_file.startswith(str(REPO))
    assert checkout == "None"
    assert cache == str(user.home / ".cache" / "research-agent")
    assert os.stat(user.venv / "bin" / "research-agent").st_uid == user.uid


def test_image_build_finds_the_checkouts_image_current(user, sandbox_image):
    result = user.cli("image", "build")
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stderr
    assert result.stdout.split() == [sandbox_image.tag, sandbox_image.id]


def test_doctor_passes_and_speaks_to_a_pip_user(user):
    result = user.cli("doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and checks["docker engine"]["level"] == "ok" and checks["sandbox image"]["level"] == "ok"
    assert checks["seccomp in force"]["level"] == "ok"
    assert not any("make " in c["next_step"] for c in report["checks"]), report


def test_doctor_outside_the_docker_group_names_the_group_not_make(user):
    result = user.cli("doctor", "--json", groups=[])  # the same user before an administrator added them
    assert result.returncode == 1
    (engine,) = json.loads(result.stdout)["checks"]
    assert engine["level"] == "fail" and "Permission denied" in engine["detail"]
    assert "sudo usermod -aG docker $USER" in engine["next_step"] and "make" not in engine["next_step"]


def test_a_stopped_engine_is_one_line_for_an_administrator(user):
    result = user.cli("eval", "mlp.py", "--dataset", "digits", "--seeds", "2",
                      DOCKER_HOST=f"unix://{user.root}/no-engine.sock")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = [x for x in result.stderr.splitlines() if x.strip()][-1]
    assert line.startswith("error: cannot reach the Docker engine") and "sudo systemctl start docker" in line
    assert "make engine" not in line


def test_eval_of_a_small_model_on_digits_is_ok(user):
    result = user.cli("eval", "mlp.py", "--dataset", "digits", "--seeds", "2", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["status"] == "ok" and len(report["seeds"]) == 2
    assert (user.work / "runs").is_dir() and os.stat(user.work / "runs").st_uid == user.uid


def test_run_runs_report_and_datasets_with_a_home_of_their_own(user):
    home = user.root / "elsewhere"
    goal = "Design a model for the digits dataset with at least 80% accuracy"
    run = user.cli("run", "--goal", goal, "--max-iterations", "1", "--seeds", "2", "--budget-minutes", "5",
                   "--json", RESEARCH_AGENT_HOME=str(home), timeout=900)
    assert run.returncode in (0, 3), run.stderr[-3000:]  # achieved, or not: both are a finished run
    listed = user.cli("runs", "list", "--json", RESEARCH_AGENT_HOME=str(home))
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    shown = user.cli("runs", "show", entry["id"], "--home", str(home), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["run"]["id"] == entry["id"], shown.stderr
    report = user.cli("report", entry["id"], "--home", str(home))
    assert report.returncode == 0, report.stderr
    assert Path(report.stdout.strip()).is_file() and Path(report.stdout.strip()).is_relative_to(home)
    datasets = user.cli("datasets", "--json", RESEARCH_AGENT_HOME=str(home))
    assert datasets.returncode == 0, datasets.stderr
    # The trackers are extras this install does not have: one line each names the extra, exit 1.
    for flag, extra in (("--mlflow", "mlflow"), ("--tensorboard", "tensorboard")):
        args = [flag] if flag == "--mlflow" else [flag, str(user.root / "tb")]
        exported = user.cli("export", entry["id"], *args, "--home", str(home))
        assert exported.returncode == 1, exported.stderr
        assert exported.stderr.count("\n") == 1 and f"research-agent[{extra}]" in exported.stderr, exported.stderr
    assert {"digits", "fashion-mnist"} <= {row["name"] for row in json.loads(datasets.stdout)}
    assert os.stat(home / "registry.sqlite").st_uid == user.uid


def test_image_build_from_an_empty_cache_gives_the_checkouts_labels(user, sandbox_image, docker_client):
    assert not (user.home / ".cache" / "research-agent" / "image").exists()  # nothing staged yet
    result = user.cli("image", "build", "--force", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[image] staging wheels" in result.stderr and "Step 1/" in result.stderr
    context = user.home / ".cache" / "research-agent" / "image" / "cpu"
    assert (context / "Dockerfile").is_file() and any((context / "wheels" / "cpu").glob("torch-*.whl"))
    assert os.stat(context / "Dockerfile").st_uid == user.uid
    tag, image_id = result.stdout.split()
    labels = docker_client.images.get(image_id).labels
    ours = sandbox_image.labels
    for key in ("source-sha256", "seccomp-sha256", "protocol", "torch", "torchvision"):
        assert labels["org.research-agent." + key] == ours["org.research-agent." + key], key
    venv_site = user.venv / "lib" / "python3.11" / "site-packages"
    assert not list(venv_site.rglob("*.whl"))  # staging never wrote into the installed package


def test_a_missing_package_file_is_one_line(user):
    profile = next((user.venv / "lib").rglob("agent/_bundle/seccomp/profile.json"))
    profile.rename(profile.with_suffix(".moved"))
    try:
        result = user.cli("eval", "mlp.py", "--dataset", "digits", "--seeds", "2")
    finally:
        profile.with_suffix(".moved").rename(profile)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("error:") and "profile.json" in lines[-1] and "reinstall" in lines[-1], lines
