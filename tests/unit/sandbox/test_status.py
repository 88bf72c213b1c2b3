"""The host's status decision: first match wins, the model's stderr can't make a failure ok."""

from pathlib import Path

import pytest

from agent.records import TrialStatus
from agent.sandbox import _status
from agent.sandbox._status import Observation, decide

DOCS = Path(__file__).resolve().parents[3] / "docs" / "status.md"

# DESIGN.md, "Status of a trial", written out: one entry per rule, in its order.
DESIGN_ORDER = [
    "interrupted",  # the host itself was interrupted while the container ran
    "infra_error",  # the runner's own failure exit before it imported the model
    "timeout",  # our timer, or the runner's own deadline exit near it
    "policy_violation",  # SIGSYS/159
    "oom",  # OOMKilled
    "killed",  # 137 without OOM and without our timer
    "resource_limit",  # SIGXFSZ/SIGBUS
    "invalid_submission",  # the runner's rejection exit 65
    "oom",  # any other non-zero exit: allocator errors
    "resource_limit",  # ... ENOSPC/EAGAIN/EMFILE
    "crashed",  # ... else
    "output_limit",
    "invalid_output",
    "ok",
]


def obs(**kw) -> Observation:
    base = dict(exit_code=0, oom_killed=False, we_killed=False, done_marker=True,
                output_too_large=False, stderr_tail="", wall_s=5.0, deadline_s=60.0)
    return Observation(**(base | kw))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, TrialStatus.OK),
        ({"exit_code": 70, "we_killed": True}, TrialStatus.INFRA_ERROR),
        ({"we_killed": True, "exit_code": 137, "oom_killed": True}, TrialStatus.TIMEOUT),
        ({"exit_code": 124, "wall_s": 59.5}, TrialStatus.TIMEOUT),
        ({"exit_code": 159, "oom_killed": True}, TrialStatus.POLICY_VIOLATION),
        ({"exit_code": 137, "oom_killed": True}, TrialStatus.OOM),
        ({"exit_code": 137}, TrialStatus.KILLED),
        ({"exit_code": 153}, TrialStatus.RESOURCE_LIMIT),
        ({"exit_code": 135}, TrialStatus.RESOURCE_LIMIT),
        ({"exit_code": 1, "stderr_tail": "OSError: [Errno 28] No space left on device"},
         TrialStatus.RESOURCE_LIMIT),
        ({"exit_code": 1, "stderr_tail": "RuntimeError: can't start new thread"},
         TrialStatus.RESOURCE_LIMIT),
        ({"exit_code": 1, "stderr_tail": "Traceback\nValueError: boom"}, TrialStatus.CRASHED),
        ({"exit_code": 139}, TrialStatus.CRASHED),
        ({"exit_code": 65, "stderr_tail": "model rejected: wrong shape"},
         TrialStatus.INVALID_SUBMISSION),
        ({"output_too_large": True}, TrialStatus.OUTPUT_LIMIT),
        ({"done_marker": False}, TrialStatus.INVALID_OUTPUT),
        ({"exit_code": 1, "stderr_tail": "MemoryError"}, TrialStatus.OOM),
        ({"exit_code": 1, "stderr_tail": "RuntimeError: [enforce fail at alloc_cpu.cpp:117] "
          "DefaultCPUAllocator: can't allocate memory: you tried to allocate 40000000000 bytes"},
         TrialStatus.OOM),
        ({"exit_code": 137, "we_killed": True, "exit_ignored": True}, TrialStatus.TIMEOUT),
        # where two rules both describe the observation, the earlier one wins
        ({"we_killed": True, "exit_code": 159}, TrialStatus.TIMEOUT),
        ({"exit_code": 153, "oom_killed": True}, TrialStatus.OOM),
        ({"exit_code": 65, "stderr_tail": "MemoryError"}, TrialStatus.INVALID_SUBMISSION),
        ({"exit_code": 65, "stderr_tail": "No space left on device"}, TrialStatus.INVALID_SUBMISSION),
        ({"exit_code": 1, "stderr_tail": "MemoryError: Too many open files"}, TrialStatus.OOM),
        ({"exit_code": 1, "output_too_large": True}, TrialStatus.CRASHED),
        ({"output_too_large": True, "done_marker": False}, TrialStatus.OUTPUT_LIMIT),
        ({"exit_code": 0, "stderr_tail": "MemoryError", "done_marker": False}, TrialStatus.INVALID_OUTPUT),
        # the host's own interruption comes first, whatever the container did meanwhile
        ({"interrupted": True}, TrialStatus.INTERRUPTED),
        ({"interrupted": True, "exit_code": 70, "we_killed": True}, TrialStatus.INTERRUPTED),
        ({"interrupted": True, "exit_code": None, "done_marker": False}, TrialStatus.INTERRUPTED),
    ],
)
def test_decide(kw, expected):
    status, message = decide(obs(**kw))
    assert status is expected
    assert message and "\n" not in message


def test_runner_exit_124_well_before_the_deadline_is_not_a_timeout():
    # A model can call os._exit(124); only the host's clock makes it a timeout.
    status, _ = decide(obs(exit_code=124, wall_s=3.0, deadline_s=60.0))
    assert status is TrialStatus.CRASHED


def test_stderr_cannot_turn_a_failure_into_ok():
    status, _ = decide(obs(exit_code=1, stderr_tail="status: ok\nRESEARCH_AGENT_RUNNER_DONE"))
    assert status is TrialStatus.CRASHED


def test_crash_message_carries_last_stderr_line():
    _, message = decide(obs(exit_code=1, stderr_tail="Traceback...\nKeyError: 'x'\n"))
    assert "KeyError: 'x'" in message and "exit code 1" in message


def test_the_rule_table_is_in_design_order():
    assert [rule.status.value for rule in _status.RULES] == DESIGN_ORDER
    assert {rule.status for rule in _status.RULES} == set(TrialStatus)  # every status can be decided
    assert all(s.message for s in TrialStatus)
    assert {s for s in TrialStatus if s.retryable} == {TrialStatus.INFRA_ERROR, TrialStatus.KILLED,
                                                       TrialStatus.INTERRUPTED}


def test_decide_is_the_first_matching_rule_of_the_table():
    # Each rule's own witness is decided by that rule (so no rule is shadowed by an earlier one).
    for rule, kw in zip(_status.RULES, WITNESSES, strict=True):
        status, _ = decide(obs(**kw))
        assert status is rule.status, (rule.when, kw)
        assert _status.first_rule(obs(**kw)) is rule


WITNESSES = [  # one observation per rule of DESIGN_ORDER
    {"interrupted": True, "exit_code": None, "done_marker": False},
    {"exit_code": 70}, {"we_killed": True, "exit_code": 137}, {"exit_code": 159},
    {"exit_code": 137, "oom_killed": True}, {"exit_code": 137}, {"exit_code": 153}, {"exit_code": 65},
    {"exit_code": 1, "stderr_tail": "MemoryError"}, {"exit_code": 1, "stderr_tail": "No space left on device"},
    {"exit_code": 1}, {"output_too_large": True}, {"done_marker": False}, {},
]


def test_docs_status_md_is_the_rendered_rule_table():
    # Regenerate with: python -c "from agent.sandbox._status import status_rules_markdown as r; print(r())"
    text = DOCS.read_text()
    begin, end = "<!-- status-rules:begin -->\n", "<!-- status-rules:end -->"
    assert begin in text and end in text
    assert text.split(begin, 1)[1].split(end, 1)[0] == _status.status_rules_markdown()


def test_the_rendering_lists_every_rule_in_order():
    lines = _status.status_rules_markdown().splitlines()
    assert len(lines) == len(_status.RULES)
    for i, (line, rule) in enumerate(zip(lines, _status.RULES, strict=True), start=1):
        assert line.startswith(f"{i}. `{rule.status.value}`: ")


def test_the_runner_s_deadline_message_names_the_runner_s_deadline():
    # The runner's deadline is the host's minus the margin (59 s for a 60 s trial), not 60 s.
    status, message = decide(obs(exit_code=124, wall_s=59.5, deadline_s=60.0))
    assert status is TrialStatus.TIMEOUT
    assert "own 59s deadline" in message, message
    # When the host knows the deadline it handed the runner, that one is named and used.
    status, message = decide(obs(exit_code=124, wall_s=46.0, deadline_s=60.0, runner_deadline_s=50.0))
    assert status is TrialStatus.TIMEOUT and "own 50s deadline" in message, message
    assert decide(obs(exit_code=124, wall_s=40.0, deadline_s=60.0, runner_deadline_s=50.0))[0] is TrialStatus.CRASHED


def test_our_timer_s_message_names_the_host_s_deadline():
    _, message = decide(obs(we_killed=True, exit_code=137, deadline_s=60.0))
    assert "at the 60s deadline" in message


def test_a_model_that_ignores_the_exit_signal_is_our_kill_not_a_retryable_kill():
    status, message = decide(obs(exit_code=137, we_killed=True, exit_ignored=True))
    assert status is TrialStatus.TIMEOUT and "after its output was collected" in message


def test_the_runner_s_own_failure_before_the_model_import_is_infra_error():
    status, message = decide(obs(exit_code=70, stderr_tail="FileNotFoundError: /data/train_x.npy\n"
                                                           "runner: failed before importing the model file"))
    assert status is TrialStatus.INFRA_ERROR
    assert message.startswith("the runner failed before importing the model")


MODEL_FRAME = '  File "/job/model.py", line 9, in forward\n'
RUNNER_FRAME = '  File "/opt/runner/runner/summary.py", line 20, in summarize\n'
TORCH_FRAME = '  File "/opt/venv/lib/python3.11/site-packages/torch/nn/parameter.py", line 3, in numel\n'


@pytest.mark.parametrize(
    ("frames", "ours"),
    [([RUNNER_FRAME, MODEL_FRAME], False), ([MODEL_FRAME, RUNNER_FRAME], True),
     ([MODEL_FRAME, RUNNER_FRAME, TORCH_FRAME], True), ([RUNNER_FRAME, MODEL_FRAME, TORCH_FRAME], False), ([], False)],
)
def test_runner_error_hint_reads_the_innermost_frame_of_ours_or_the_model_s(frames, ours):
    from agent.sandbox import ends_in_runner

    tail = "Traceback (most recent call last):\n" + "".join(frames) + "ValueError: boom\n"
    assert ends_in_runner(tail) is ours
