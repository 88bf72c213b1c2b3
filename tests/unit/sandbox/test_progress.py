"""The host reads the runner's progress lines from its stdout tail: bounded, validated, newest first.

The model can write to the same pipe, so every line is hostile until RunnerProgress accepts it.
"""

from __future__ import annotations

import json

import pytest

from agent.protocol import DONE_LINE, MAX_PROGRESS_LINE, PROGRESS_LINE, RunnerProgress
from agent.sandbox._progress import StdoutTail, latest_progress

GOOD = {"seed": 0, "epoch": 3, "epochs": 5, "val_acc": 0.8712, "seeds_done": 1, "seeds": 3}


def line(record=None, raw: str | None = None) -> bytes:
    return f"{PROGRESS_LINE} {raw if raw is not None else json.dumps(record)}".encode()


def test_a_good_line_is_read():
    assert latest_progress(line(GOOD) + b"\n") == RunnerProgress(**GOOD)


def test_the_newest_valid_line_wins_and_a_bad_newer_one_is_skipped():
    older = GOOD | {"epoch": 2}
    tail = b"\n".join([line(older), line(GOOD), line(raw="{not json"), DONE_LINE.encode()])
    assert latest_progress(tail).epoch == 3


@pytest.mark.parametrize("bad", [
    GOOD | {"val_acc": 1.5}, GOOD | {"val_acc": -0.1}, GOOD | {"epoch": -1}, GOOD | {"seed": -2},
    GOOD | {"epochs": 0}, GOOD | {"seeds": 1001}, GOOD | {"epoch": 10_001, "epochs": 10_000},
    GOOD | {"seed": "0"}, GOOD | {"seed": True}, GOOD | {"epoch": 3.0}, GOOD | {"extra": 1},
    {k: v for k, v in GOOD.items() if k != "seeds"},
    GOOD | {"epoch": 6},  # more epochs done than it runs
    GOOD | {"seeds_done": 4},  # more seeds done than the job has
], ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items() if GOOD.get(k, "missing") != v) or "missing")
def test_out_of_range_or_mistyped_fields_are_ignored(bad):
    assert latest_progress(line(bad)) is None


@pytest.mark.parametrize("raw", ["{not json", "[0, 3, 5]", "null", '{"seed": 0', "", '"text"'])
def test_bad_json_is_ignored(raw):
    assert latest_progress(line(raw=raw)) is None


def test_nan_and_infinity_are_ignored():
    for value in ("NaN", "Infinity", "-Infinity"):
        raw = json.dumps(GOOD).replace("0.8712", value)
        assert latest_progress(line(raw=raw)) is None


def test_a_line_over_the_cap_is_ignored_even_if_valid():
    padded = json.dumps(GOOD).replace('"seed":', " " * MAX_PROGRESS_LINE + '"seed":')
    assert RunnerProgress.model_validate_json(padded) == RunnerProgress(**GOOD)  # valid JSON, just long
    assert latest_progress(line(raw=padded)) is None
    assert len(line(GOOD)) <= MAX_PROGRESS_LINE and latest_progress(line(GOOD)) is not None


def test_only_lines_that_start_with_the_prefix_count():
    assert latest_progress(b"noise " + line(GOOD)) is None
    assert latest_progress(json.dumps(GOOD).encode()) is None
    assert latest_progress(f"{PROGRESS_LINE}{json.dumps(GOOD)}".encode()) is None  # no space


def test_one_read_gives_both_the_done_cue_and_the_progress():
    tail = StdoutTail(line(GOOD) + b"\n" + DONE_LINE.encode() + b"\n")
    assert tail.done and tail.progress == RunnerProgress(**GOOD)
    empty = StdoutTail(b"")
    assert not empty.done and empty.progress is None


def test_the_cli_spinner_shows_the_runner_s_numbers():
    from agent.cli._eval import progress_text

    assert progress_text(RunnerProgress(**GOOD)) == "seed 0 epoch 3/5 val_acc 0.8712 (1 of 3 seeds done)"
    assert progress_text(RunnerProgress(**GOOD | {"val_acc": None})) == "seed 0 epoch 3/5 (1 of 3 seeds done)"
