"""Validation of returned predictions and the untrusted runner report."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from agent.config import EvalConfig
from agent.data import prepare
from agent.protocol import PROTOCOL_VERSION
from agent.records import SandboxOutcome, TrialStatus
from agent.sandbox import SandboxInterrupted
from agent.trial import TrialInterrupted, run_trial
from agent.trial._outputs import (
    MAX_REPORT_BYTES,
    InvalidOutput,
    _depth,
    finished_seeds,
    load_predictions,
    load_report,
    load_seed_report,
)


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def probs(n=5, k=3):
    rng = np.random.default_rng(0)
    p = rng.random((n, k)).astype(np.float32)
    return p / p.sum(1, keepdims=True)


def test_valid_predictions_load():
    arr = load_predictions({"seed_0/test_probs.npy": npy(probs())}, 0, 5, 3)
    assert arr.shape == (5, 3) and arr.dtype == np.float64


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (None, "missing"),
        (b"not an npy file", "not a plain .npy"),
        (npy(np.array([{"a": 1}], dtype=object)), "not a plain .npy"),  # pickle refused
        (npy(probs(4, 3)), "shape"),
        (npy(probs(5, 4)), "shape"),
        (npy(np.full((5, 3), np.nan, dtype=np.float32)), "NaN"),
        (npy(np.ones((5, 3), dtype=np.float32)), "probability"),
        (npy(np.zeros((5, 3), dtype=np.int64)), "floating-point"),
    ],
)
def test_invalid_predictions_name_the_problem(payload, needle):
    files = {} if payload is None else {"seed_0/test_probs.npy": payload}
    with pytest.raises(InvalidOutput, match=needle):
        load_predictions(files, 0, 5, 3)


def report(**over):
    base = {"protocol_version": PROTOCOL_VERSION, "torch_version": "2.13.0", "device": "cpu", "started_at": 1.0,
            "summary": {"params_total": 10, "params_trainable": 10, "output_shape": [2, 3]},
            "seeds": [{"seed": 0, "curves": {"train_loss": [1.0, float("nan")]}}]}
    return json.dumps(base | over).encode()


def test_report_loads_and_keeps_nan_as_value():
    rep, problem = load_report({"report.json": report()})
    assert problem is None and rep.seeds[0].curves.train_loss[0] == 1.0


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (None, "missing"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b"{not json", "invalid"),
        (report(extra_field=1), "invalid"),
        (report(device="quantum"), "invalid"),
    ],
)
def test_bad_reports_never_raise(raw, needle):
    files = {} if raw is None else {"report.json": raw}
    rep, problem = load_report(files)
    assert rep is None and needle in problem


def nested(levels: int) -> list:
    doc: list = []
    for _ in range(levels - 1):
        doc = [doc]
    return doc


DEEP = 61  # well past MAX_JSON_DEPTH


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ('"\\"[[[[[[[[[[', 0),  # brackets after an escaped quote are still inside the string
        ('\\"' + "[" * 40, 0),  # a plain string is depth 0, whatever it contains
        ({"a": '\\"[[[[', "b": nested(5)}, 6),  # the object plus five lists, not the string's brackets
        (["\\", nested(3)], 4),  # an escaped backslash, then the quote that really ends the string
        (['\\"', "]]]]", nested(3)], 4),  # closers inside strings don't lower the depth either
        ({"a": '\\"', "b": nested(DEEP - 1)}, DEEP),  # deep nesting behind an escaped quote
    ],
)
def test_depth_skips_strings_with_escapes(doc, expected):
    raw = json.dumps(doc).encode()
    assert _depth(raw) == expected


def test_deep_report_behind_an_escaped_quote_is_refused():
    raw = json.dumps({"torch_version": '\\"', "seeds": nested(DEEP - 1)}).encode()
    rep, problem = load_report({"report.json": raw})
    assert rep is None and "nested too deeply" in problem


# -- seeds that finished before their container ended -------------------------------------------
def seed_json(seed: int, **over) -> bytes:
    doc = {"seed": seed, "curves": {"train_loss": [1.2, 0.6], "val_acc": [0.99, 0.99], "epoch_s": [0.4, 0.5]},
           "best_epoch": 2, "stopped_epoch": None, "wall_s": 1.1}
    return json.dumps(doc | over).encode()


def test_finished_seeds_are_those_with_their_done_marker():
    files = {"seed_0/test_probs.npy": b"x", "seed_0/.done": b"", "seed_1/test_probs.npy": b"x",  # cut mid-seed
             "seed_2/seed.json": seed_json(2), "seed_3/.done": b"", "seed_10/.done": b""}
    assert finished_seeds(files, [0, 1, 2, 3]) == [0, 3]  # in the job's order; seed 10 was not asked for
    assert finished_seeds(files, [3, 0]) == [3, 0]
    assert finished_seeds({".done": b"", "seed_0.done": b""}, [0]) == []  # the job's marker is no seed's


def test_a_seed_report_loads():
    rec = load_seed_report({"seed_4/seed.json": seed_json(4)}, 4)
    assert rec.seed == 4 and rec.best_epoch == 2 and rec.curves.train_loss == [1.2, 0.6]


@pytest.mark.parametrize("raw", [
    None,
    b"{not json",
    seed_json(0, extra_field=1),  # the schema is closed
    seed_json(0, curves={"train_loss": "low"}),
    seed_json(7),  # seed 7's record in seed 0's folder: never trusted as seed 0's
    b'{"seed": 0, "curves": {}, "wall_s": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # the parser's recursion
    seed_json(0) + b" " * MAX_REPORT_BYTES,  # a valid record, padded past the size cap
])
def test_a_bad_seed_report_is_none_never_an_error(raw):
    files = {} if raw is None else {"seed_0/seed.json": raw}
    assert load_seed_report(files, 0) is None


def test_a_seed_report_just_under_the_size_cap_loads():
    raw = seed_json(0) + b" " * (MAX_REPORT_BYTES - len(seed_json(0)))
    assert load_seed_report({"seed_0/seed.json": raw}, 0) is not None


MLP = (Path(__file__).resolve().parents[3] / "agent" / "examples" / "mlp.py").read_text()


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return prepare("digits", tmp_path_factory.mktemp("cache"))


def softmax_rows(labels: np.ndarray, n_classes: int, wrong_every: int) -> np.ndarray:
    """Probabilities that put 0.9 on the true class, except every ``wrong_every``-th row (the next class)."""
    rows = np.full((len(labels), n_classes), 0.1 / (n_classes - 1), dtype=np.float32)
    guess = labels.copy()
    guess[::wrong_every] = (guess[::wrong_every] + 1) % n_classes
    rows[np.arange(len(labels)), guess] = 0.9
    return rows


def seed_files(data, seed: int, epochs: int = 2) -> dict[str, bytes]:
    val = np.stack([softmax_rows(data.val_labels(), data.n_classes, 2 + e) for e in range(epochs)])
    return {f"seed_{seed}/test_probs.npy": npy(softmax_rows(data.test_labels(), data.n_classes, 5)),
            f"seed_{seed}/val_probs.npy": npy(val), f"seed_{seed}/seed.json": seed_json(seed),
            f"seed_{seed}/.done": b""}


class EndedSandbox:
    """A sandbox whose one container ends with ``outcome`` (or raises SandboxInterrupted with it)."""

    def __init__(self, outcome: SandboxOutcome, interrupt: bool = False):
        self.outcome, self.interrupt, self.jobs = outcome, interrupt, []

    def describe(self) -> dict:
        return {"image": "sha256:test", "image_labels": {}}

    def run(self, request, progress=None) -> SandboxOutcome:
        self.jobs.append(request.job)
        if self.interrupt:
            raise SandboxInterrupted(self.outcome)
        return self.outcome


def ended(status: TrialStatus, files: dict[str, bytes]) -> SandboxOutcome:
    return SandboxOutcome(status=status, message=status.message, exit_code=124, we_killed=True, wall_s=30.0,
                          files=files)


def test_a_trial_that_ran_out_of_time_keeps_the_seed_that_finished(digits):
    seed_1_cut = {"seed_1/test_probs.npy": seed_files(digits, 1)["seed_1/test_probs.npy"]}  # no .done: never used
    sandbox = EndedSandbox(ended(TrialStatus.TIMEOUT, seed_files(digits, 0) | seed_1_cut))
    config = EvalConfig(dataset="digits", seeds=3, epochs=2)
    report = run_trial(MLP, "mlp.py", config, lambda: sandbox, digits, batches=[[0, 1, 2]])
    assert sandbox.jobs[0].seeds == [0, 1, 2]
    assert report.status is TrialStatus.TIMEOUT
    assert report.message == f"{TrialStatus.TIMEOUT.message}; 1 of 3 seeds finished"
    s0, s1, s2 = report.seeds
    assert (s0.seed, s0.status) == (0, TrialStatus.OK)
    wrong = len(range(0, digits.n_test, 5))
    assert s0.metrics["accuracy"] == pytest.approx(1 - wrong / digits.n_test)
    assert s0.best_epoch == 2  # from the seed's own seed.json: there is no report.json
    assert s0.curves["train_loss"] == [1.2, 0.6]
    expected_val = [float(np.mean(softmax_rows(digits.val_labels(), 10, 2 + e).argmax(1) == digits.val_labels()))
                    for e in range(2)]
    assert s0.curves["val_acc"] == pytest.approx(expected_val)  # the host's numbers, not the forged 0.99
    assert [(s.seed, s.status, s.metrics) for s in (s1, s2)] == [(1, TrialStatus.TIMEOUT, {}),
                                                                   (2, TrialStatus.TIMEOUT, {})]
    assert report.aggregate["accuracy"].n == 1
    assert [(r.seeds, r.status) for r in report.sandbox.runs] == [([0, 1, 2], TrialStatus.TIMEOUT)]


def test_a_finished_seed_without_its_seed_report_is_still_scored(digits):
    files = seed_files(digits, 0) | {"seed_0/seed.json": seed_json(3)}  # another seed's record: ignored
    report = run_trial(MLP, "mlp.py", EvalConfig(dataset="digits", seeds=3, epochs=2),
                       lambda: EndedSandbox(ended(TrialStatus.TIMEOUT, files)), digits, batches=[[0, 1, 2]])
    s0 = report.seeds[0]
    assert s0.status is TrialStatus.OK and s0.best_epoch is None and "train_loss" not in s0.curves
    assert len(s0.curves["val_acc"]) == 2  # validation curves from its val_probs.npy all the same


def test_a_trial_that_ran_out_of_time_before_any_seed_finished_keeps_nothing(digits):
    report = run_trial(MLP, "mlp.py", EvalConfig(dataset="digits", seeds=3, epochs=2),
                       lambda: EndedSandbox(ended(TrialStatus.TIMEOUT, {})), digits, batches=[[0, 1, 2]])
    assert report.status is TrialStatus.TIMEOUT and report.message.endswith("; 0 of 3 seeds finished")
    assert [s.status for s in report.seeds] == [TrialStatus.TIMEOUT] * 3


def test_an_interrupted_trial_carries_its_finished_seed(digits):
    sandbox = EndedSandbox(ended(TrialStatus.INTERRUPTED, seed_files(digits, 0)), interrupt=True)
    with pytest.raises(TrialInterrupted) as caught:
        run_trial(MLP, "mlp.py", EvalConfig(dataset="digits", seeds=3, epochs=2), lambda: sandbox, digits,
                  batches=[[0, 1, 2]])
    report = caught.value.report
    assert report.status is TrialStatus.INTERRUPTED and "1 of 3 seeds finished" in report.message
    assert [s.status for s in report.seeds] == [TrialStatus.OK, TrialStatus.INTERRUPTED, TrialStatus.INTERRUPTED]


def test_an_interrupt_before_the_sandbox_had_anything_to_say_keeps_no_seed(digits):
    class Interrupted(EndedSandbox):
        def run(self, request, progress=None):
            raise KeyboardInterrupt

    with pytest.raises(TrialInterrupted) as caught:
        run_trial(MLP, "mlp.py", EvalConfig(dataset="digits", seeds=3, epochs=2),
                  lambda: Interrupted(ended(TrialStatus.OK, {})), digits, batches=[[0, 1, 2]])
    report = caught.value.report
    assert report.status is TrialStatus.INTERRUPTED and report.message.endswith("; 0 of 3 seeds finished")
    assert [s.status for s in report.seeds] == [TrialStatus.INTERRUPTED] * 3 and not report.sandbox.runs
