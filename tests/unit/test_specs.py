"""The goal as vocabulary: its metric decides the direction, and a goal it cannot be is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.specs import Goal


def test_the_metric_decides_which_way_is_better():
    assert Goal(dataset="digits", metric="log_loss", target=0.3).sign == -1.0
    assert Goal(dataset="digits", metric="accuracy", target=0.9).sign == 1.0


@pytest.mark.parametrize(("fields", "message"), [
    ({"metric": "log_loss", "target": 0.3, "higher_is_better": True}, "contradicts log_loss"),
    ({"metric": "acuracy", "target": 0.9}, "unknown metric 'acuracy'; use one of: accuracy,"),
    ({"metric": "accuracy", "target": 1.9}, "a target of 1.9 is outside accuracy's range [0, 1]"),
])
def test_a_goal_it_cannot_be_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Goal(dataset="digits", **fields)
