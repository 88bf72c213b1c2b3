"""``research-agent compare A.json B.json [C.json ...]``: paired comparisons over common seeds."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from ..errors import UsageError
from ..results import EvalReport
from ..scoring import compare_paired, holm, is_higher_better


def load_report(path: Path) -> EvalReport:
    """A ``report.json`` / ``eval --json`` document, validated against the report's schema."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON report ({str(exc).splitlines()[0][:100]})") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or "seeds" not in doc:
        raise UsageError(f"{path}: not an eval report (write one with `research-agent eval --json`)")
    try:
        return EvalReport.model_validate(doc)
    except ValidationError as exc:
        where = ".".join(map(str, exc.errors()[0]["loc"]))
        raise UsageError(f"{path}: not a valid eval report ({where}: {exc.errors()[0]['msg']}); "
                         "write it again with `research-agent eval --json`") from None


def compare(paths: list[Path], metric: str = "accuracy", alpha: float = 0.05) -> dict:
    """The first report against each other one; Holm-adjusted when there are several."""
    docs = [load_report(p) for p in paths]
    for path, doc in zip(paths[1:], docs[1:], strict=True):
        if docs[0].dataset.get("fingerprint") != doc.dataset.get("fingerprint"):
            raise UsageError(f"{paths[0]} and {path} were scored on different data (dataset fingerprints differ)")
    return compare_values([(str(p), d.seed_values(metric)) for p, d in zip(paths, docs, strict=True)], metric, alpha)


def compare_values(named: list[tuple[str, dict[int, float]]], metric: str, alpha: float = 0.05) -> dict:
    """Paired comparisons of the first ``(name, {seed: value})`` against each other one, over
    their common seeds (Holm-adjusted when there are several): ``compare`` and the dashboard."""
    (first, base), others = named[0], named[1:]
    if not base:
        raise UsageError(f"{first}: no seed has a value for {metric!r}")
    rows = []
    for name, other in others:
        common = sorted(set(base) & set(other))
        if len(common) < 2:
            raise UsageError(f"{first} and {name} share {len(common)} seed(s) with {metric!r}; "
                             "a paired comparison needs the same seeds, at least two")
        result = compare_paired([base[s] for s in common], [other[s] for s in common],
                                higher_is_better=is_higher_better(metric))
        rows.append({"a": first, "b": name, "seeds": common} | result.to_dict())
    if len(rows) > 1:
        adjusted = holm([r["p_value"] for r in rows], alpha)
        for row, p_adj, reject in zip(rows, adjusted.adjusted, adjusted.reject, strict=True):
            row |= {"p_holm": p_adj, "significant_holm": bool(reject)}
    return {"metric": metric, "alpha": alpha, "comparisons": rows}


def print_comparison(result: dict, console: Console) -> None:
    """Per comparison, the verdict, then its numbers and the two files indented below; wrapped
    by words, so a file name is never split (unless it is wider than the terminal)."""
    for row in result["comparisons"]:
        holm_note = f", Holm p={row['p_holm']:.3g}" if "p_holm" in row else ""
        numbers = f"n={row['n']}, p={row['p_value']:.3g}{holm_note}, P(A>B)={row['p_a_better']:.3f}"
        files = f"{Path(row['a']).name} vs {Path(row['b']).name}"
        console.print(Text(row["verdict"]))
        console.print(Text(textwrap.fill(f"{numbers}: {files}", console.width, initial_indent="  ",
                                         subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)),
                      soft_wrap=True)
