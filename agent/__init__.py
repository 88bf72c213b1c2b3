"""research-agent: a sandbox-first PyTorch research agent.

Python API: ``agent.evaluate(model_file, config) -> EvalReport`` (see ``agent.api``).
"""

from .api import evaluate
from .config import EvalConfig, TrainingConfig
from .records import SandboxLimits, TrialStatus
from .results import EvalReport

__all__ = ["EvalConfig", "EvalReport", "SandboxLimits", "TrainingConfig", "TrialStatus", "evaluate"]
