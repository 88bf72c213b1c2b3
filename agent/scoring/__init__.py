"""Scoring on the host: metrics from predictions and hidden labels, statistics across seeds."""

from ._metrics import classification_metrics
from ._stats import CONFIDENCE, aggregate, summarize, t_interval

__all__ = ["CONFIDENCE", "aggregate", "classification_metrics", "summarize", "t_interval"]
