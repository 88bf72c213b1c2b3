"""Per-seed metrics against scikit-learn and hand-computed values, and the undefined cases."""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from agent.scoring import classification_metrics, classification_report, is_higher_better


def _random_case(n_classes: int, n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    probs = rng.dirichlet(np.ones(n_classes), n)
    probs[np.arange(n), y] += rng.uniform(0, 0.6, n)  # a little signal
    probs /= probs.sum(axis=1, keepdims=True)
    assert len(set(probs.argmax(1))) == n_classes  # every class predicted: all metrics defined
    return probs, y


@pytest.mark.parametrize("n_classes", [3, 5])
def test_multiclass_scalars_match_sklearn(n_classes):
    probs, y = _random_case(n_classes)
    pred = probs.argmax(1)
    got = classification_report(probs, y)
    assert got["undefined"] == {}
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "mcc": skm.matthews_corrcoef(y, pred),
        "cohen_kappa": skm.cohen_kappa_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"),
        "pr_auc": skm.average_precision_score(label_binarize(y, classes=range(n_classes)), probs,
                                              average="macro"),
        "log_loss": skm.log_loss(y, probs),
        "brier": skm.brier_score_loss(y, probs, labels=range(n_classes)),
    }
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        for average in ("macro", "weighted", "micro"):
            expected[f"{name}_{average}"] = fn(y, pred, average=average)
    if n_classes > 3:
        expected["top3_accuracy"] = skm.top_k_accuracy_score(y, probs, k=3, labels=range(n_classes))
    assert set(got["scalars"]) == set(expected) | {"ece"}
    for key, value in expected.items():
        assert got["scalars"][key] == pytest.approx(value, abs=1e-12), key


def test_binary_scalars_match_sklearn():
    probs, y = _random_case(2, n=40, seed=3)
    got = classification_metrics(probs, y)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, probs[:, 1]))
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, probs[:, 1]))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, probs.argmax(1), average="macro"))
    assert "top3_accuracy" not in got


def test_hand_computed_small_case():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    y = np.array([0, 1, 2, 1])  # predictions 0, 1, 2, 0: three right
    s = classification_metrics(probs, y)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["recall_macro"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert s["precision_macro"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert s["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.5, 0.3])))
    # Brier: squared error to one-hot, summed over classes, averaged over samples
    assert s["brier"] == pytest.approx(np.mean([0.09 + 0.04 + 0.01, 0.01 + 0.04 + 0.01,
                                                0.04 + 0.09 + 0.25, 0.36 + 0.49 + 0.01]))


def test_top3_against_sklearn_and_ties_follow_argmax():
    probs, y = _random_case(6, n=90, seed=5)
    s = classification_metrics(probs, y)
    assert s["top3_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=3, labels=range(6)))
    uniform = np.full((2, 4), 0.25)
    assert classification_metrics(uniform, np.array([0, 3]))["top3_accuracy"] == 0.5


def test_per_class_block_and_confusion_matrix():
    probs, y = _random_case(4, seed=1)
    report = classification_report(probs, y)
    p, r, f, support = skm.precision_recall_fscore_support(y, probs.argmax(1))
    assert report["per_class"]["precision"] == pytest.approx(list(p))
    assert report["per_class"]["recall"] == pytest.approx(list(r))
    assert report["per_class"]["f1"] == pytest.approx(list(f))
    assert report["per_class"]["support"] == list(support)
    assert report["confusion_matrix"] == skm.confusion_matrix(y, probs.argmax(1)).tolist()


def test_class_never_predicted_is_undefined_precision_not_zero():
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.6, 0.3]])
    y = np.array([0, 1, 2, 2])  # class 2 is present but never predicted
    report = classification_report(probs, y)
    s = report["scalars"]
    assert s["precision_macro"] is None and s["precision_weighted"] is None
    assert "class 2 never predicted" in report["undefined"]["precision_macro"]
    assert report["per_class"]["precision"][2] is None
    assert s["recall_macro"] == pytest.approx(skm.recall_score(y, probs.argmax(1), average="macro"))
    # F1 of a present class that is never predicted is a genuine 0 (2TP / (2TP + FP + FN) = 0)
    assert report["per_class"]["f1"][2] == 0.0
    assert s["f1_macro"] == pytest.approx(skm.f1_score(y, probs.argmax(1), average="macro", zero_division=0))
    assert s["roc_auc"] is not None


def test_class_absent_from_y_true():
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])
    y = np.array([0, 1, 1, 1])  # class 2 predicted once but absent from y_true
    report = classification_report(probs, y)
    s, why = report["scalars"], report["undefined"]
    assert s["recall_macro"] is None and "class 2 absent" in why["recall_macro"]
    assert s["roc_auc"] is None and s["pr_auc"] is None and "class 2" in why["roc_auc"]
    assert s["recall_weighted"] == pytest.approx(0.75)
    with warnings.catch_warnings():  # sklearn warns about the class it leaves out; we just leave it out
        warnings.simplefilter("ignore")
        assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, probs.argmax(1)))
    assert s["mcc"] == pytest.approx(skm.matthews_corrcoef(y, probs.argmax(1)))


def test_one_class_in_y_true_never_crashes_and_never_fakes_zero():
    probs = np.tile([0.9, 0.05, 0.05], (5, 1))
    report = classification_report(probs, np.zeros(5, dtype=int))
    s, why = report["scalars"], report["undefined"]
    for key in ("mcc", "cohen_kappa", "roc_auc", "pr_auc", "recall_macro", "precision_macro"):
        assert s[key] is None and key in why
    assert s["accuracy"] == 1.0 and s["log_loss"] > 0
    assert all(v is None or np.isfinite(v) for v in s.values())


def test_binary_one_class_and_constant_predictions():
    probs = np.array([[0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    report = classification_report(probs, np.array([1, 1, 1]))
    assert report["scalars"]["roc_auc"] is None and "only class 1" in report["undefined"]["roc_auc"]
    assert report["scalars"]["pr_auc"] == pytest.approx(1.0)  # defined: positives exist
    assert report["scalars"]["mcc"] is None
    assert report["scalars"]["cohen_kappa"] == pytest.approx(skm.cohen_kappa_score([1, 1, 1], [1, 0, 1]))
    constant = classification_report(np.tile([0.9, 0.1], (4, 1)), np.array([0, 1, 0, 1]))
    assert constant["scalars"]["mcc"] is None and "every prediction" in constant["undefined"]["mcc"]
    assert constant["scalars"]["cohen_kappa"] == 0.0
    assert constant["scalars"]["roc_auc"] == 0.5


@pytest.mark.parametrize(
    ("probs", "y", "match"),
    [
        (np.ones((3, 2)) / 2, np.array([0, 1]), "y_true must have shape"),
        (np.ones((2, 2)) / 2, np.array([0, 2]), "labels must lie"),
        (np.ones((2, 1)), np.array([0, 0]), "n_classes >= 2"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), np.array([0, 1]), "NaN"),
        (np.ones((2, 2)) / 2, np.array([0.5, 1.0]), "integer labels"),
    ],
)
def test_malformed_inputs_raise(probs, y, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(probs, y)


def test_direction_of_metrics():
    assert is_higher_better("accuracy") and is_higher_better("roc_auc")
    assert not any(is_higher_better(m) for m in ("log_loss", "brier", "ece"))
