"""Learning dynamics on constructed curves: one test per flag, plus the numbers behind them."""

import json
import math

import pytest

from agent.scoring import FLAGS, dynamics_flags, learning_dynamics

VAL = [1.0, 0.6, 0.4, 0.302, 0.301, 0.300, 0.300, 0.300, 0.300, 0.300]
HEALTHY = {"train_loss": [v - 0.01 for v in VAL], "val_loss": VAL,
           "train_acc": [0.5, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.92],
           "val_acc": [0.5, 0.7, 0.8, 0.88, 0.88, 0.88, 0.88, 0.88, 0.88, 0.9]}


def test_healthy_curves_have_no_flags():
    d = learning_dynamics(HEALTHY)
    assert d.flags == () and d.epochs == 10 and d.monitored == "val_loss"
    assert d.best_epoch == 6 and d.best_loss == pytest.approx(0.300)
    assert d.convergence_epoch == 4  # 0.302 is within 1% of 0.300; 0.4 is not
    assert d.plateau is True and d.diverged is False
    assert d.overfitting == "none" and d.overfitting_gap == pytest.approx(0.01)
    assert d.accuracy_gap == pytest.approx(0.02)
    assert json.loads(json.dumps(d.to_dict()))["flags"] == []


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf")])
def test_nan_loss_flags_nan_and_diverged(bad):
    d = learning_dynamics({"train_loss": [1.0, 0.8, bad, 0.5], "val_loss": [1.0, 0.9, 0.8, 0.7]})
    assert {"nan_loss", "diverged"} <= set(d.flags)
    assert d.divergence_reason == "non-finite train_loss at epoch 3"
    assert d.final_train_loss == 0.5


def test_constant_loss():
    d = learning_dynamics({"train_loss": [0.6931] * 6, "val_loss": [0.6931] * 6})
    assert d.flags == ("constant_loss",)
    assert d.plateau is True


@pytest.mark.parametrize(
    ("train", "val", "level"),
    [(0.95, 1.0, "none"), (0.85, 1.0, "mild"), (0.70, 1.0, "moderate"), (0.02, 0.7, "severe"),
     (0.001, 0.01, "none")],  # the last: relative gap 0.9 but under the 0.02 absolute floor
)
def test_overfitting_severity_levels(train, val, level):
    d = learning_dynamics({"train_loss": [2.0, train], "val_loss": [2.0, val]})
    assert d.overfitting == level
    assert ("overfitting" in d.flags) == (level in ("moderate", "severe"))


def test_overfitting_with_a_rising_val_loss_is_not_divergence():
    d = learning_dynamics({"train_loss": [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
                           "val_loss": [1.0, 0.6, 0.05, 0.3, 0.5, 0.6, 0.7]})  # 14x its minimum
    assert d.overfitting == "severe" and "overfitting" in d.flags
    assert not d.diverged and d.best_epoch == 3


def test_not_converged_when_still_improving():
    falling = [1.0 - 0.09 * i for i in range(10)]
    d = learning_dynamics({"train_loss": falling, "val_loss": falling})
    assert d.plateau is False and d.flags == ("not_converged",) and d.best_epoch == 10
    short = learning_dynamics({"train_loss": [1.0, 0.8], "val_loss": [1.0, 0.8]})
    assert short.plateau is None and "not_converged" in short.flags


def test_diverged_by_explosion():
    d = learning_dynamics({"train_loss": [1.0, 0.5, 0.1, 0.5, 2.0]})
    assert d.diverged and "diverged" in d.flags and "nan_loss" not in d.flags
    assert "epoch 5" in d.divergence_reason and d.monitored == "train_loss"
    tiny = learning_dynamics({"train_loss": [1.0, 0.001, 0.05]})  # 50x a near-zero minimum: noise
    assert not tiny.diverged


def test_missing_curves():
    d = learning_dynamics({})
    assert d.epochs == 0 and d.flags == () and d.monitored is None and d.best_epoch is None
    assert d.overfitting is None and d.plateau is None
    only_val = learning_dynamics({"val_loss": [1.0, 0.5], "train_loss": None})
    assert only_val.overfitting_gap is None and only_val.monitored == "val_loss"


def test_dynamics_flags_unions_seeds():
    nan = {"train_loss": [1.0, math.nan]}
    assert dynamics_flags({0: HEALTHY, 1: nan}) == ["diverged", "nan_loss"]
    assert dynamics_flags([HEALTHY]) == []
    assert set(FLAGS) == {"nan_loss", "constant_loss", "overfitting", "not_converged", "diverged"}


def test_a_single_epoch_does_not_claim_non_convergence():
    assert learning_dynamics({"train_loss": [0.7], "val_loss": [0.8]}).flags == ()
