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
