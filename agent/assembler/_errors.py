"""The assembler's one error: a spec that cannot be rendered for the data at hand."""

from __future__ import annotations

__all__ = ["AssemblyError"]


class AssemblyError(ValueError):
    """The spec cannot be rendered for this data (``str(err)`` is one line naming the fix).

    A ``ValueError``, not an ``AgentError``: it describes a bad spec/shape pairing, which a
    planner treats as a rejected proposal, not a failure of the agent.
    """
