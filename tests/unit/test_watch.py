"""A running trial's progress: one registry write a second at most, one console line every ten
seconds at most, and only when the runner reports a new (seed, epoch)."""

from __future__ import annotations

import pytest

from agent._watch import CONSOLE_EVERY_S, REGISTRY_EVERY_S, TrialWatch, line
from agent.protocol import RunnerProgress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Registry:
    def __init__(self):
        self.writes: list[tuple[str, dict]] = []

    def set_trial_progress(self, trial_id: str, progress: dict) -> None:
        self.writes.append((trial_id, progress))


def progress(seed: int, epoch: int, val_acc: float | None = 0.5, done: int = 0) -> RunnerProgress:
    return RunnerProgress(seed=seed, epoch=epoch, epochs=5, val_acc=val_acc, seeds_done=done, seeds=3)


@pytest.fixture
def watched():
    clock, registry, said = Clock(), Registry(), []
    watch = TrialWatch(registry, "run-x-t0007", 7, 1050.0, said.append, clock=clock)
    return watch, clock, registry, said


def at(watch, clock, t: float, p: RunnerProgress | None, elapsed: float | None = None) -> None:
    clock.now = 100.0 + t
    watch("running", t if elapsed is None else elapsed, p)


def test_the_throttles_are_a_second_and_ten_seconds():
    assert REGISTRY_EVERY_S == 1.0 and CONSOLE_EVERY_S == 10.0


def test_a_repeated_seed_and_epoch_is_ignored_even_when_the_throttle_allows(watched):
    watch, clock, registry, said = watched
    at(watch, clock, 0.5, progress(0, 1))  # too soon for either
    at(watch, clock, 30.0, progress(0, 1, val_acc=0.9))  # the same epoch again (each poll repeats the newest line)
    assert registry.writes == [] and said == []
    at(watch, clock, 31.0, progress(0, 2))
    assert len(registry.writes) == 1 and len(said) == 1


def test_no_progress_line_yet_is_ignored(watched):
    watch, clock, registry, said = watched
    at(watch, clock, 50.0, None)
    assert registry.writes == [] and said == []


def test_the_registry_copy_is_throttled_to_one_a_second(watched):
    watch, clock, registry, _ = watched
    for t, epoch in [(0.5, 1), (1.2, 2), (1.5, 3), (2.1, 4), (2.3, 5)]:
        at(watch, clock, t, progress(0, epoch), elapsed=t + 0.04)
    # 0.5 s after the start: too soon; 1.2 s: stored; 0.3 s and 0.9 s after that: too soon; 1.1 s: stored
    assert [w[1]["epoch"] for w in registry.writes] == [2, 5]
    trial_id, stored = registry.writes[0]
    assert trial_id == "run-x-t0007"
    assert stored == {"seed": 0, "epoch": 2, "epochs": 5, "val_acc": 0.5, "seeds_done": 0, "seeds": 3,
                      "elapsed_s": 1.2}


def test_the_console_line_is_throttled_to_one_every_ten_seconds(watched):
    watch, clock, _, said = watched
    for t, (seed, epoch) in [(5.0, (0, 1)), (10.0, (0, 2)), (15.0, (0, 3)), (19.9, (0, 4)), (20.0, (1, 0))]:
        at(watch, clock, t, progress(seed, epoch, done=seed))
    assert said == ["  trial 7: seed 0 epoch 2/5, val_acc 0.5000 (0 of 3 seeds done), 10 s of 1050 s",
                    "  trial 7: seed 1 epoch 0/5, val_acc 0.5000 (1 of 3 seeds done), 20 s of 1050 s"]


def test_the_line_says_numbers_only():
    assert line(progress(2, 3, val_acc=0.87123, done=2)) == "seed 2 epoch 3/5, val_acc 0.8712 (2 of 3 seeds done)"
    assert line(progress(0, 0, val_acc=None)) == "seed 0 epoch 0/5 (0 of 3 seeds done)"
