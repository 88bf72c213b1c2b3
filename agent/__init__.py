"""research-agent: a sandbox-first PyTorch research agent.

Python API: ``agent.evaluate(model_file, config) -> EvalReport`` (see ``agent.api``).
"""

from ._lazy import attach

# The CLI starts here too (`python -m agent`): nothing heavy until a command needs it.
__getattr__, __dir__, __all__ = attach(__name__, {
    ".api": ["evaluate"],
    ".config": ["EvalConfig", "TrainingConfig"],
    ".records": ["SandboxLimits", "TrialStatus"],
    ".results": ["EvalReport"],
})
