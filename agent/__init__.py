"""research-agent: a sandbox-first PyTorch research agent.

Python API: ``agent.evaluate(model_file, config) -> Report`` (see ``agent.api``).
"""

from .api import Report, evaluate
from .config import EvalConfig, TrainingConfig
from .records import SandboxLimits, TrialStatus

__all__ = ["EvalConfig", "Report", "SandboxLimits", "TrainingConfig", "TrialStatus", "evaluate"]
