"""Read a goal written in words, without any LLM: dataset, metric, target, family hint.

"Design a CNN for Fashion-MNIST with at least 90% accuracy" -> fashion-mnist, accuracy, 0.90,
cnn. Flags (--dataset, --target, --metric) override what the text says. A goal it cannot read
gets one line saying which flag to add.
"""

from __future__ import annotations

import re

from .data import SOURCES
from .errors import UsageError
from .scoring import GOAL_METRICS, check_goal, is_higher_better, metric_range
from .specs import Goal

DEFAULT_TARGETS = {"accuracy": 0.9}  # used only when neither the text nor --target gives one

_F1 = r"f1(?:[\s_-]*score)?"
_METRICS = [  # (pattern, metric): the first pattern that matches anywhere wins, so specific before generic
    (r"balanced[\s_-]*accuracy", "balanced_accuracy"),
    (r"top[\s_-]*3", "top3_accuracy"),
    (rf"weighted[\s_-]*{_F1}|{_F1}[\s_(-]*weighted", "f1_weighted"),
    (rf"micro[\s_-]*{_F1}|{_F1}[\s_(-]*micro", "f1_micro"),
    (rf"(?:macro[\s_-]*)?{_F1}", "f1_macro"),  # plain "F1" means macro F1
    (r"roc[\s_-]*auc|\bauc\b", "roc_auc"),
    (r"\bmcc\b|matthews", "mcc"),
    (r"log[\s_-]*loss|cross[\s_-]*entropy", "log_loss"),
    (r"\bece\b|calibration[\s_-]*error", "ece"),
    (r"accuracy|\bacc\b", "accuracy"),
]
_KNOWN = frozenset(GOAL_METRICS)
_FAMILIES = [(r"res[\s_-]*net|residual", "resnet"), (r"transformer", "transformer"),
             (r"text[\s_-]*cnn", "text_cnn"), (r"\bcnn\b|conv(?:olutional|net)", "cnn"),
             (r"\bmlp\b|perceptron|fully[\s_-]*connected", "mlp")]
_NUMBER = r"(\d+(?:\.\d+)?)\s*(%|percent)?"
_TARGET_PATTERNS = [
    rf"(?:at\s+least|>=|≥|above|over|more\s+than|exceed(?:ing)?|reach(?:ing)?|of|minimum(?:\s+of)?)\s*{_NUMBER}",
    rf"{_NUMBER}\s*(?:\+\s*)?(?:test\s+)?(?:accuracy|acc|f1|auc|balanced)",
    rf"(?:at\s+most|<=|≤|below|under|less\s+than)\s*{_NUMBER}",
]


def _dataset_names() -> list[tuple[str, str]]:
    names = []
    for cls in SOURCES:
        for key in (cls.name, *cls.aliases):
            names.append((key, cls.name))
    return sorted(names, key=lambda kv: -len(kv[0]))  # longest first: "fashion-mnist" before "mnist"


def _find_dataset(text: str) -> str | None:
    flat = re.sub(r"[\s_]+", "-", text.lower())
    squashed = re.sub(r"[^a-z0-9]", "", text.lower())
    for key, name in _dataset_names():
        k = key.lower()
        if re.search(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])", flat) or (
                len(k) > 4 and re.sub(r"[^a-z0-9]", "", k) in squashed):
            return name
    return None


def _find_metric(text: str) -> str | None:
    low = text.lower()
    for pattern, metric in _METRICS:
        if re.search(pattern, low):
            return metric
    return None


def _find_target(text: str, metric: str) -> float | None:
    low = text.lower()
    for pattern in _TARGET_PATTERNS:
        m = re.search(pattern, low)
        if m:
            value, percent = float(m.group(1)), m.group(2)
            # "90 accuracy" means 90%, but "log loss at most 1.5" means 1.5
            fraction_metric = metric in _KNOWN and metric_range(metric)[1] == 1.0
            return value / 100 if percent or (value > 1 and fraction_metric) else value
    return None


def parse_goal(text: str, dataset: str | None = None, target: float | None = None,
               metric: str | None = None) -> Goal:
    """The goal from ``text``; each flag that is given overrides the text."""
    found_dataset = dataset or _find_dataset(text)
    if not found_dataset:
        raise UsageError("the goal names no dataset I know; add --dataset NAME (see `research-agent datasets`)")
    found_metric = metric or _find_metric(text) or "accuracy"
    found_target = target if target is not None else _find_target(text, found_metric)
    if found_target is None:
        found_target = DEFAULT_TARGETS.get(found_metric)
    if found_target is None:
        raise UsageError(f"the goal gives no target for {found_metric}; add --target VALUE (e.g. --target 0.8)")
    try:
        check_goal(found_metric, found_target)  # "at least 190% accuracy" reads as 1.9: refuse it
    except ValueError as e:
        raise UsageError(str(e)) from e
    family = next((fam for pattern, fam in _FAMILIES if re.search(pattern, text.lower())), None)
    return Goal(text=text, dataset=found_dataset, metric=found_metric, target=float(found_target),
                higher_is_better=is_higher_better(found_metric), family=family)
