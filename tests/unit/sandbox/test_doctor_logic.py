"""Doctor's judgement of engine facts (the probe itself runs in tests/integration)."""

from agent.sandbox._doctor import _probe_checks, _runc, _runsc


def runc(version: str, commit: str = "") -> dict:
    return {"Components": [{"Name": "runc", "Version": version, "Details": {"GitCommit": commit}}]}


def test_runc_versions():
    assert _runc(runc("1.1.12")).level == "ok"
    assert _runc(runc("1.2.0")).level == "ok"
    assert _runc(runc("1.1.11")).level == "warn"
    assert _runc(runc("1.1.5+ds1", "1.1.5+ds1-1+deb12u1")).level == "ok"  # Debian backport
    assert _runc({}).level == "warn"


def test_runsc_registered_or_not():
    assert _runsc({"Runtimes": {"runsc": {}}}).level == "ok"
    check = _runsc({"Runtimes": {"runc": {}}})
    assert check.level == "warn" and check.next_step


def test_probe_facts_judged():
    good = {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000000000", "uid": 10001,
            "rootfs_writable": False, "inet_socket": False, "threads_started": 250}
    assert {c.level for c in _probe_checks(good, oom=True, exit_code=137)} == {"ok"}
    levels = {c.name: c.level for c in _probe_checks(good | {"Seccomp": "0"}, True, 137)}
    assert levels["seccomp in force"] == "fail"
    levels = {c.name: c.level for c in _probe_checks(good, oom=False, exit_code=0)}
    assert levels["memory limit enforced"] == "fail"
    levels = {c.name: c.level for c in _probe_checks(good | {"threads_started": 400}, True, 137)}
    assert levels["pids limit enforced"] == "fail"
    levels = {c.name: c.level for c in _probe_checks(good | {"CapEff": "00000000a80425fb"}, True, 137)}
    assert levels["privileges dropped"] == "fail"
