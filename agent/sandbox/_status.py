"""Decide a trial's status from what the host observed. Pure; first match wins.

Order (DESIGN.md): infra_error > timeout > policy_violation > oom > killed > crashed >
resource_limit > output_limit > invalid_output > ok. (invalid_submission is decided before
a container exists, or from the runner's rejection exit code.) The stderr tail is written by
the model's own process, so it only ever picks between failure statuses; it can never turn a
failure into ``ok``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..protocol import EXIT_DEADLINE, EXIT_REJECTED, EXIT_RUNNER_ERROR
from ..records import TrialStatus
from ._controls import RUNNER_DEADLINE_MARGIN_S

SIGSYS_EXIT = 128 + 31  # killed by seccomp (SCMP_ACT_KILL_PROCESS)
SIGKILL_EXIT = 128 + 9
SIGBUS_EXIT = 128 + 7
SIGXFSZ_EXIT = 128 + 25
SIGSEGV_EXIT = 128 + 11

_RESOURCE_PATTERNS = re.compile(
    r"No space left on device|Too many open files|Resource temporarily unavailable"
    r"|can't start new thread|File too large|Disk quota exceeded|ENOSPC|EMFILE|EAGAIN"
)
# An allocation refused inside the process: Python's MemoryError, or torch's CPU allocator
# (a RuntimeError "DefaultCPUAllocator: can't allocate memory ... (Cannot allocate memory)").
# Whether a huge tensor ends as this or as OOMKilled depends only on the host's overcommit
# policy and RAM, so both must be ``oom``.
_MEMORY_PATTERNS = re.compile(r"MemoryError|can't allocate memory|Cannot allocate memory")
RUNNER_CODE = "/opt/runner/runner/"  # where the image keeps the runner's own modules
MODEL_CODE = "/job/"  # where the model file is mounted
_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+', re.MULTILINE)


@dataclass(frozen=True)
class Observation:
    """Facts the host collected itself about one container run."""

    exit_code: int | None
    oom_killed: bool
    we_killed: bool
    done_marker: bool
    output_too_large: bool
    stderr_tail: str
    infra_error: str | None = None
    wall_s: float = 0.0
    deadline_s: float = 0.0
    exit_ignored: bool = False  # we killed it because it kept running after we collected /out


def decide(obs: Observation) -> tuple[TrialStatus, str]:
    """Return ``(status, one-line message)``; output validity is checked after ``ok``."""
    last = _last_line(obs.stderr_tail)
    if obs.infra_error:
        return TrialStatus.INFRA_ERROR, obs.infra_error
    if obs.exit_code == EXIT_RUNNER_ERROR:  # the runner's own code, before any of the model's ran
        return TrialStatus.INFRA_ERROR, f"the runner failed before importing the model: {last or 'no error output'}"
    if obs.we_killed and obs.exit_ignored:
        return TrialStatus.TIMEOUT, "we killed it: it kept running after its output was collected"
    if obs.we_killed:
        return TrialStatus.TIMEOUT, f"we killed it at the {obs.deadline_s:.0f}s deadline"
    # The runner's own deadline is the host's minus a margin (agent/evaluation.py sets it so);
    # 0.9 of *that* tells its deadline exit from a model faking exit 124 early.
    runner_deadline_s = max(1.0, obs.deadline_s - RUNNER_DEADLINE_MARGIN_S)
    if obs.exit_code == EXIT_DEADLINE and obs.wall_s >= runner_deadline_s * 0.9:
        return TrialStatus.TIMEOUT, f"the runner stopped at its own {obs.deadline_s:.0f}s deadline"
    if obs.exit_code == SIGSYS_EXIT:
        return TrialStatus.POLICY_VIOLATION, "killed by SIGSYS: a forbidden system call"
    if obs.oom_killed:
        return TrialStatus.OOM, "killed by the memory limit (OOMKilled)"
    if obs.exit_code == SIGKILL_EXIT:
        return TrialStatus.KILLED, "killed by SIGKILL without OOM and without our timer"
    if obs.exit_code in (SIGXFSZ_EXIT, SIGBUS_EXIT):
        signum = obs.exit_code - 128
        return TrialStatus.RESOURCE_LIMIT, f"killed by signal {signum} (file size or shared memory limit)"
    if obs.exit_code == EXIT_REJECTED:
        return TrialStatus.INVALID_SUBMISSION, last or TrialStatus.INVALID_SUBMISSION.message
    if obs.exit_code not in (0, None):
        if _MEMORY_PATTERNS.search(last):
            return TrialStatus.OOM, f"the process could not allocate memory: {last}"
        if _RESOURCE_PATTERNS.search(obs.stderr_tail or ""):
            return TrialStatus.RESOURCE_LIMIT, last or "a resource limit was hit"
        return TrialStatus.CRASHED, f"exit code {obs.exit_code}: {last or 'no error output'}"
    if obs.output_too_large:
        return TrialStatus.OUTPUT_LIMIT, "the output exceeded the size cap"
    if not obs.done_marker:
        return TrialStatus.INVALID_OUTPUT, "the process exited before writing its predictions"
    return TrialStatus.OK, TrialStatus.OK.message


def ends_in_runner(stderr_tail: str) -> bool:
    """True when the last traceback's innermost frame of ours or the model's is the runner's.

    Library frames (torch, numpy) are skipped: a runner bug often raises inside torch. Only a hint
    for the ``runner_error`` flag: the model shares the process and can print any traceback it
    likes, so this never decides a status.
    """
    frames = [f for f in _FRAME.findall(stderr_tail or "") if f.startswith((RUNNER_CODE, MODEL_CODE))]
    return bool(frames) and frames[-1].startswith(RUNNER_CODE)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
