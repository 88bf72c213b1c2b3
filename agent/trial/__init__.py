"""Run ONE trial: preflight, the sandbox call, validation of what came back, seed scoring, the report.

This package is the trust boundary on the host: ``_outputs`` is the only code that reads the
files a container wrote, and nothing outside this package imports it. ``_run`` drives the
sandbox per seed batch, ``_seeds`` turns one batch's validated files into scored seeds, and the
result is one typed ``EvalReport`` (``agent.results``), built here and nowhere else.
"""

from ._run import TrialInterrupted, evaluate, failed_report, run_trial, seed_batches, seed_workers

__all__ = ["TrialInterrupted", "evaluate", "failed_report", "run_trial", "seed_batches", "seed_workers"]
