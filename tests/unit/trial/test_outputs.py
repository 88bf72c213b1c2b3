"""Validation of returned predictions and the untrusted runner report."""

import io
import json

import numpy as np
import pytest

from agent.trial._outputs import InvalidOutput, _depth, load_predictions, load_report


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
    base = {"protocol_version": 2, "torch_version": "2.13.0", "device": "cpu", "started_at": 1.0,
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
