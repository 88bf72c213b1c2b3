"""Reading goals in words; flags override; unreadable goals name the flag to add."""

import pytest

from agent.errors import UsageError
from agent.goal import parse_goal


@pytest.mark.parametrize(
    ("text", "dataset", "metric", "target", "family"),
    [
        ("Design a CNN for Fashion-MNIST with at least 90% accuracy", "fashion-mnist", "accuracy", 0.90, "cnn"),
        ("Design a model for the digits dataset with at least 95% accuracy", "digits", "accuracy", 0.95, None),
        ("an MLP on breast cancer data reaching 0.97 balanced accuracy", "breast-cancer", "balanced_accuracy",
         0.97, "mlp"),
        ("small ResNet for cifar10, 85 percent accuracy", "cifar10", "accuracy", 0.85, "resnet"),
        ("classify iris with macro F1 of 0.9", "iris", "f1_macro", 0.9, None),
        ("a transformer for sst2 with accuracy >= 0.8", "sst2", "accuracy", 0.8, "transformer"),
        ("wine classifier, log loss at most 0.3", "wine", "log_loss", 0.3, None),
        ("mnist please", "mnist", "accuracy", 0.9, None),
    ],
)
def test_parse(text, dataset, metric, target, family):
    goal = parse_goal(text)
    assert (goal.dataset, goal.metric, goal.family) == (dataset, metric, family)
    assert goal.target == pytest.approx(target)
    assert goal.higher_is_better == (metric != "log_loss")


def test_flags_override_the_text():
    goal = parse_goal("a CNN for digits with at least 90% accuracy", dataset="iris", target=0.8,
                      metric="f1_macro")
    assert (goal.dataset, goal.target, goal.metric) == ("iris", 0.8, "f1_macro")


def test_no_dataset_names_the_flag():
    with pytest.raises(UsageError, match="--dataset"):
        parse_goal("build me something great with 99% accuracy")


def test_no_target_for_a_metric_without_default_names_the_flag():
    with pytest.raises(UsageError, match="--target"):
        parse_goal("digits with good macro f1")


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("digits with weighted F1 of at least 0.8", "f1_weighted"),
        ("digits with F1 weighted of at least 0.8", "f1_weighted"),
        ("digits with f1-score (weighted) of at least 0.8", "f1_weighted"),
        ("digits with macro F1 of at least 0.8", "f1_macro"),
        ("digits with f1 of at least 0.8", "f1_macro"),
        ("digits with micro F1 of at least 0.8", "f1_micro"),
    ],
)
def test_f1_variants_specific_before_generic(text, metric):
    assert parse_goal(text).metric == metric


@pytest.mark.parametrize("text", ["digits with at least 190% accuracy", "digits with at least 190 accuracy",
                                  "digits with macro F1 of at least 150%"])
def test_a_target_outside_the_metric_range_is_a_usage_error(text):
    with pytest.raises(UsageError, match="outside .* range"):
        parse_goal(text)


def test_a_loss_target_above_one_is_not_read_as_a_percentage():
    assert parse_goal("wine classifier, log loss at most 1.5").target == pytest.approx(1.5)
