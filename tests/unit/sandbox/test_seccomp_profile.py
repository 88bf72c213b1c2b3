"""Structural checks of the sandbox's seccomp profile (seccomp/profile.json).

The behaviour inside a real container (denied calls fail, training still runs) belongs to
the integration tests; these tests pin down the file itself and its generator.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SECCOMP_DIR = Path(__file__).resolve().parents[3] / "seccomp"
GENERATOR = SECCOMP_DIR / "generate.py"
PROFILE = SECCOMP_DIR / "profile.json"

ALLOW = "SCMP_ACT_ALLOW"
SYSCALL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("seccomp_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_generator()


@pytest.fixture(scope="module")
def profile() -> dict:
    return json.loads(PROFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules(profile) -> list[dict]:
    return profile["syscalls"]


def _rules_naming(rules: list[dict], name: str) -> list[dict]:
    return [r for r in rules if name in r["names"]]


def _allowed(rules: list[dict]) -> set[str]:
    return {n for r in rules if r["action"] == ALLOW for n in r["names"]}


def _run_generator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_committed_file_matches_build_profile(gen, profile):
    assert profile == gen.build_profile()
    assert PROFILE.read_text(encoding="utf-8") == gen.render()
    assert gen.render().endswith("}\n")


def test_default_action_is_eperm(profile):
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1


def test_arch_map_is_64_bit_only(profile):
    assert "architectures" not in profile  # Docker rejects it next to archMap
    arches = {a["architecture"] for a in profile["archMap"]}
    assert arches == {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"}
    # no x86/x32/arm sub-architectures: int 0x80 and compat syscalls hit the bad-arch action
    assert all(a["subArchitectures"] == [] for a in profile["archMap"])


def test_rule_shape(rules):
    for rule in rules:
        assert set(rule) <= {"names", "action", "args", "comment", "errnoRet"}, rule
        assert rule["names"] == sorted(rule["names"]), rule["comment"]
        assert rule["comment"].strip(), rule["names"]
        assert ("errnoRet" in rule) == (rule["action"] == "SCMP_ACT_ERRNO"), rule["names"]
        for arg in rule["args"]:
            assert set(arg) == {"index", "value", "valueTwo", "op"}, rule["names"]


def test_only_expected_actions(rules):
    actions = {r["action"] for r in rules}
    assert actions <= {ALLOW, "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"}


def test_no_includes_or_excludes(profile, rules):
    # A capability- or kernel-conditioned rule would let a later cap_add re-open a call.
    for rule in rules:
        assert "includes" not in rule and "excludes" not in rule, rule["names"]
    assert "includes" not in profile and "excludes" not in profile


def test_syscall_names_are_lowercase_identifiers(rules):
    for rule in rules:
        for name in rule["names"]:
            assert SYSCALL_NAME.match(name), name


def test_no_duplicates(rules):
    seen_rules = set()
    unconditional: set[str] = set()
    conditional: set[str] = set()
    for rule in rules:
        assert len(rule["names"]) == len(set(rule["names"])), rule["comment"]
        args = json.dumps(rule["args"], sort_keys=True)
        for name in rule["names"]:
            key = (name, args)
            assert key not in seen_rules, f"duplicate rule for {name}"
            seen_rules.add(key)
            target = conditional if rule["args"] else unconditional
            assert name not in unconditional, f"{name} has an unconditional rule and another"
            target.add(name)
    assert not unconditional & conditional


def test_denied_syscalls_are_never_allowed(gen, rules):
    denied = set(gen.DENIED_EPERM) | set(gen.DENIED_KILL)
    assert denied, "the deny lists must not be empty"
    assert not set(gen.DENIED_EPERM) & set(gen.DENIED_KILL)
    leaked = sorted(_allowed(rules) & denied)
    assert not leaked, f"denied syscalls allowed by a rule: {leaked}"


def test_eperm_denials_rely_on_the_default_action(gen, rules):
    for name in gen.DENIED_EPERM:
        assert not _rules_naming(rules, name), f"{name} should have no rule at all"


def test_kill_rule_covers_exactly_denied_kill(gen, rules):
    kill = [r for r in rules if r["action"] == "SCMP_ACT_KILL_PROCESS"]
    assert len(kill) == 1
    assert set(kill[0]["names"]) == set(gen.DENIED_KILL)
    assert kill[0]["args"] == []
    for name in (
        "ptrace",
        "process_vm_readv",
        "bpf",
        "userfaultfd",
        "io_uring_setup",
        "keyctl",
        "perf_event_open",
        "unshare",
        "setns",
        "mount",
    ):
        assert name in kill[0]["names"], name


@pytest.mark.parametrize(
    "name",
    [
        "splice",
        "vmsplice",
        "tee",
        "execveat",
        "setuid",
        "seccomp",
        "capset",
        "mknod",
        "pidfd_getfd",
    ],
)
def test_design_denials_are_listed(gen, name):
    assert name in gen.DENIED_EPERM


@pytest.mark.parametrize("name", ["socket", "socketpair"])
def test_socket_is_af_unix_only(rules, name):
    matching = _rules_naming(rules, name)
    assert matching, f"{name} must be allowed for AF_UNIX"
    for rule in matching:
        assert rule["action"] == ALLOW
        assert rule["args"] == [{"index": 0, "op": "SCMP_CMP_EQ", "value": 1, "valueTwo": 0}]


def test_clone_cannot_create_namespaces(rules):
    matching = _rules_naming(rules, "clone")
    assert matching
    for rule in matching:
        assert rule["action"] == ALLOW
        assert rule["args"] == [
            {"index": 0, "op": "SCMP_CMP_MASKED_EQ", "value": 0x7E020000, "valueTwo": 0}
        ]
    mask = matching[0]["args"][0]["value"]
    for flag, bit in NAMESPACE_FLAGS.items():
        assert mask & bit, f"{flag} is not in the clone mask"


def test_clone3_returns_enosys(rules):
    matching = _rules_naming(rules, "clone3")
    assert len(matching) == 1
    assert matching[0]["action"] == "SCMP_ACT_ERRNO"
    assert matching[0]["errnoRet"] == 38  # ENOSYS, so glibc falls back to clone
    assert matching[0]["args"] == []


def test_personality_only_default_and_query(rules):
    matching = _rules_naming(rules, "personality")
    values = set()
    for rule in matching:
        assert rule["action"] == ALLOW
        assert len(rule["args"]) == 1
        arg = rule["args"][0]
        assert (arg["index"], arg["op"]) == (0, "SCMP_CMP_EQ")
        values.add(arg["value"])
    assert values == {0x0, 0xFFFFFFFF}


@pytest.mark.parametrize(
    "name",
    [
        "execve",
        "exit_group",
        "futex",
        "mmap",
        "rt_sigreturn",
        "wait4",
        "openat",
        "read",
        "write",
        "getrandom",
        "ioctl",
        "epoll_pwait",
        "sched_getaffinity",
        "set_robust_list",
    ],
)
def test_runtime_essentials_are_allowed(rules, name):
    # runc's Go runtime, docker-init (tini) and CPython die at start without these.
    assert any(not r["args"] for r in _rules_naming(rules, name) if r["action"] == ALLOW)


def test_groups_have_one_line_reasons(gen):
    for group, (reason, names) in gen.ALLOWED_GROUPS.items():
        assert reason.strip() and "\n" not in reason, group
        assert names, group


def test_check_passes_on_committed_file():
    result = _run_generator("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_on_modified_copy(tmp_path):
    copy = tmp_path / "profile.json"
    shutil.copy(PROFILE, copy)
    data = json.loads(copy.read_text(encoding="utf-8"))
    data["defaultAction"] = "SCMP_ACT_ALLOW"
    copy.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    result = _run_generator("--check", "--profile", str(copy))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "out of date" in lines[0]


def test_check_fails_on_missing_file(tmp_path):
    result = _run_generator("--check", "--profile", str(tmp_path / "absent.json"))
    assert result.returncode == 1


def test_generate_then_check_round_trip(tmp_path):
    target = tmp_path / "profile.json"
    assert _run_generator("--profile", str(target)).returncode == 0
    assert target.read_text(encoding="utf-8") == PROFILE.read_text(encoding="utf-8")
    assert _run_generator("--check", "--profile", str(target)).returncode == 0


def test_generator_refuses_a_denied_name_in_an_allowed_group(gen, monkeypatch):
    groups = dict(gen.ALLOWED_GROUPS)
    groups["oops"] = ("a mistake", ["ptrace"])
    monkeypatch.setattr(gen, "ALLOWED_GROUPS", groups)
    with pytest.raises(ValueError, match="ptrace"):
        gen.build_profile()


def test_runsc_variant_keeps_the_allowlist_but_speaks_gvisor():
    """gVisor rejects KILL_PROCESS and ignores errnoRet: the variant traps instead, same denials."""
    from agent.sandbox._controls import profile_for, runsc_profile_text, seccomp_profile_text

    base, variant = json.loads(seccomp_profile_text()), json.loads(runsc_profile_text())
    actions = {rule["action"] for rule in variant["syscalls"]}
    assert "SCMP_ACT_KILL_PROCESS" not in actions and "SCMP_ACT_TRAP" in actions
    assert variant["defaultAction"] == base["defaultAction"] == "SCMP_ACT_ERRNO"
    trapped = {n for r in variant["syscalls"] if r["action"] == "SCMP_ACT_TRAP" for n in r["names"]}
    killed = {n for r in base["syscalls"] if r["action"] == "SCMP_ACT_KILL_PROCESS" for n in r["names"]}
    assert trapped == killed
    allowed = lambda p: {n for r in p["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}  # noqa: E731
    assert allowed(variant) - allowed(base) == {"clone3"}
    assert profile_for("runsc") == runsc_profile_text() and profile_for(None) == seccomp_profile_text()
