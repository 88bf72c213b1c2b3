"""Decide a trial's status from what the host observed. Pure; one ordered table, first match wins.

Order (DESIGN.md, "Status of a trial"; ``RULES`` below is the one source, docs/status.md its
rendering): interrupted (the host itself was stopped while the container ran) > infra_error
(the runner's own failure exit, before it imported the model) > timeout (our timer, or the
runner's own deadline exit near it) > policy_violation (SIGSYS) > oom (OOMKilled) > killed
(137 without OOM or our timer) > resource_limit (SIGXFSZ/SIGBUS) > invalid_submission (the
runner's rejection exit 65) > on any other non-zero exit: oom (allocator errors),
resource_limit (ENOSPC/EAGAIN/EMFILE), else crashed > output_limit > invalid_output (exit 0
without the done marker) > ok. Docker/API/image problems are
infra_error too, decided by the backend before there is anything to observe.

The stderr tail is written by the model's own process, so it only ever picks between failure
statuses; it can never turn a failure into ``ok``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import EXIT_DEADLINE, EXIT_REJECTED, EXIT_RUNNER_ERROR
from ..records import TrialStatus
from ._controls import RUNNER_DEADLINE_MARGIN_S

__all__ = ["RULES", "Observation", "Rule", "decide", "ends_in_runner", "first_rule", "status_rules_markdown"]

SIGSYS_EXIT = 128 + 31  # killed by seccomp (SCMP_ACT_KILL_PROCESS)
SIGKILL_EXIT = 128 + 9
SIGBUS_EXIT = 128 + 7
SIGXFSZ_EXIT = 128 + 25
RUNNER_DEADLINE_FRACTION = 0.9  # an exit 124 this early in the runner's own deadline is a model faking it

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
    wall_s: float = 0.0
    deadline_s: float = 0.0  # the host's: it kills at this + grace
    runner_deadline_s: float | None = None  # the one handed to the runner (None: derive it from ours)
    exit_ignored: bool = False  # we killed it because it kept running after we collected /out
    interrupted: bool = False  # the host was interrupted (Ctrl-C, SIGTERM, SIGHUP) while it ran

    @property
    def runner_deadline(self) -> float:
        if self.runner_deadline_s is not None:
            return self.runner_deadline_s
        # The runner's own deadline is the host's minus a margin (agent/trial sets it so).
        return max(1.0, self.deadline_s - RUNNER_DEADLINE_MARGIN_S)

    @property
    def last_line(self) -> str:
        lines = [ln.strip() for ln in (self.stderr_tail or "").splitlines() if ln.strip()]
        return lines[-1][:300] if lines else ""


@dataclass(frozen=True)
class Rule:
    """One line of the table: ``status`` when ``applies``; ``when`` says so in words (for the docs)."""

    status: TrialStatus
    when: str
    applies: Callable[[Observation], bool]
    message: Callable[[Observation], str]


def _failed(obs: Observation) -> bool:
    """A non-zero exit that no signal or exit-code rule above it claimed."""
    return obs.exit_code not in (0, None)


def _timed_out(obs: Observation) -> bool:
    near_deadline = obs.wall_s >= obs.runner_deadline * RUNNER_DEADLINE_FRACTION
    return obs.we_killed or (obs.exit_code == EXIT_DEADLINE and near_deadline)


def _timeout_message(obs: Observation) -> str:
    if obs.we_killed and obs.exit_ignored:
        return "we killed it: it kept running after its output was collected"
    if obs.we_killed:
        return f"we killed it at the {obs.deadline_s:.0f}s deadline"
    return f"the runner stopped at its own {obs.runner_deadline:.0f}s deadline"


RULES: tuple[Rule, ...] = (
    Rule(TrialStatus.INTERRUPTED, "the host was interrupted (Ctrl-C, SIGTERM or SIGHUP) while the container ran",
         lambda o: o.interrupted,
         lambda o: TrialStatus.INTERRUPTED.message),
    Rule(TrialStatus.INFRA_ERROR, f"the runner's own failure exit ({EXIT_RUNNER_ERROR}), before it imported the model",
         lambda o: o.exit_code == EXIT_RUNNER_ERROR,
         lambda o: f"the runner failed before importing the model: {o.last_line or 'no error output'}"),
    Rule(TrialStatus.TIMEOUT, f"we killed it (our timer), or the runner's own deadline exit ({EXIT_DEADLINE}) "
         f"after at least {RUNNER_DEADLINE_FRACTION:.0%} of its deadline",
         _timed_out, _timeout_message),
    Rule(TrialStatus.POLICY_VIOLATION, f"killed by SIGSYS (exit {SIGSYS_EXIT}): a forbidden system call",
         lambda o: o.exit_code == SIGSYS_EXIT,
         lambda o: "killed by SIGSYS: a forbidden system call"),
    Rule(TrialStatus.OOM, "the engine reports OOMKilled",
         lambda o: o.oom_killed,
         lambda o: "killed by the memory limit (OOMKilled)"),
    Rule(TrialStatus.KILLED, f"exit {SIGKILL_EXIT} (SIGKILL) without OOM and without our timer",
         lambda o: o.exit_code == SIGKILL_EXIT,
         lambda o: "killed by SIGKILL without OOM and without our timer"),
    Rule(TrialStatus.RESOURCE_LIMIT, f"killed by SIGXFSZ or SIGBUS (exit {SIGXFSZ_EXIT} or {SIGBUS_EXIT})",
         lambda o: o.exit_code in (SIGXFSZ_EXIT, SIGBUS_EXIT),
         lambda o: f"killed by signal {o.exit_code - 128} (file size or shared memory limit)"),
    Rule(TrialStatus.INVALID_SUBMISSION, f"the runner's rejection exit ({EXIT_REJECTED}): model contract or preflight",
         lambda o: o.exit_code == EXIT_REJECTED,
         lambda o: o.last_line or TrialStatus.INVALID_SUBMISSION.message),
    Rule(TrialStatus.OOM, "any other non-zero exit whose last stderr line is an allocation failure",
         lambda o: _failed(o) and bool(_MEMORY_PATTERNS.search(o.last_line)),
         lambda o: f"the process could not allocate memory: {o.last_line}"),
    Rule(TrialStatus.RESOURCE_LIMIT, "any other non-zero exit whose stderr names ENOSPC, EAGAIN, EMFILE or the like",
         lambda o: _failed(o) and bool(_RESOURCE_PATTERNS.search(o.stderr_tail or "")),
         lambda o: o.last_line or "a resource limit was hit"),
    Rule(TrialStatus.CRASHED, "any other non-zero exit",
         _failed,
         lambda o: f"exit code {o.exit_code}: {o.last_line or 'no error output'}"),
    Rule(TrialStatus.OUTPUT_LIMIT, "/out went past the size cap",
         lambda o: o.output_too_large,
         lambda o: "the output exceeded the size cap"),
    Rule(TrialStatus.INVALID_OUTPUT, "it ended without the done marker (no predictions)",
         lambda o: not o.done_marker,
         lambda o: "the process exited before writing its predictions"),
    Rule(TrialStatus.OK, "everything else (the predictions are validated next)",
         lambda o: True,
         lambda o: TrialStatus.OK.message),
)


def first_rule(obs: Observation) -> Rule:
    """The first rule of ``RULES`` that applies (the last one always does)."""
    return next(rule for rule in RULES if rule.applies(obs))


def decide(obs: Observation) -> tuple[TrialStatus, str]:
    """Return ``(status, one-line message)``; output validity is checked after ``ok``."""
    rule = first_rule(obs)
    return rule.status, rule.message(obs)


def status_rules_markdown() -> str:
    """``RULES`` as a numbered Markdown list (docs/status.md holds this text; a test compares)."""
    return "".join(f"{i}. `{rule.status.value}`: {rule.when}\n" for i, rule in enumerate(RULES, start=1))


def ends_in_runner(stderr_tail: str) -> bool:
    """True when the last traceback's innermost frame of ours or the model's is the runner's.

    Library frames (torch, numpy) are skipped: a runner bug often raises inside torch. Only a hint
    for the ``runner_error`` flag: the model shares the process and can print any traceback it
    likes, so this never decides a status.
    """
    frames = [f for f in _FRAME.findall(stderr_tail or "") if f.startswith((RUNNER_CODE, MODEL_CODE))]
    return bool(frames) and frames[-1].startswith(RUNNER_CODE)
