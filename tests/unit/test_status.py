"""The host's status decision: first match wins, the model's stderr can't make a failure ok."""

import pytest

from agent.records import STATUS_PRIORITY, TrialStatus
from agent.sandbox._status import Observation, decide


def obs(**kw) -> Observation:
    base = dict(exit_code=0, oom_killed=False, we_killed=False, done_marker=True,
                output_too_large=False, stderr_tail="", wall_s=5.0, deadline_s=60.0)
    return Observation(**(base | kw))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, TrialStatus.OK),
        ({"infra_error": "engine gone", "we_killed": True}, TrialStatus.INFRA_ERROR),
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


def test_priority_order_matches_design():
    assert [s.value for s in STATUS_PRIORITY] == [
        "infra_error", "timeout", "policy_violation", "oom", "killed", "crashed",
        "resource_limit", "output_limit", "invalid_output", "invalid_submission", "ok",
    ]
    assert all(s.message for s in TrialStatus)
    assert {s for s in TrialStatus if s.retryable} == {TrialStatus.INFRA_ERROR, TrialStatus.KILLED}


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
