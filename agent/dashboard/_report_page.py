"""``report.html``: a finished run as one file to share, built from the dashboard's own views.

The same page body as the dashboard's run page (``_run_body.html``: decision, search tree,
metric by trial, candidates, every trial), without links into a server, its stylesheet inlined,
charts as inline SVG and no script at all (its own Content-Security-Policy says so).
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from ..registry import RunSnapshot
from ..report import interval_text
from ._pages import render, source_html, static_file
from ._views import run_page

__all__ = ["report_html"]


def report_html(snapshot: RunSnapshot, candidates: list[dict] | None = None) -> str:
    """``candidates``: ``report.candidate_rows`` when the caller has them (else built here)."""
    view = run_page(snapshot, page=1, candidates=candidates, size=max(1, len(snapshot.trials)), links=False)
    best = next((t for t in snapshot.trials if t.id == snapshot.run.best_trial_id), None)
    extra = {}
    if best is not None:
        extra = {"best": best, "best_value": interval_text(best.summary.get(view["metric"])),
                 "best_source": source_html(best.source or "")}
    css = b"\n".join(static_file(name)[0] for name in ("style.css", "pygments.css")).decode()
    return render("report.html", refresh=None, css=Markup(css), generated=datetime.now(UTC), **(view | extra))
