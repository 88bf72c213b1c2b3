"""``research-agent compare A.json B.json [C.json ...]``: paired comparisons over common seeds."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from ..scoring import compare_paired, holm, is_higher_better


def load_report(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON report ({str(exc).splitlines()[0][:100]})") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or "seeds" not in doc:
        raise UsageError(f"{path}: not an eval report (write one with `research-agent eval --json`)")
    return doc


def per_seed(doc: dict, metric: str) -> dict[int, float]:
    return {s["seed"]: s["metrics"][metric] for s in doc["seeds"]
            if s.get("status") == "ok" and s.get("metrics", {}).get(metric) is not None}


def compare(paths: list[Path], metric: str = "accuracy", alpha: float = 0.05) -> dict:
    """The first report against each other one; Holm-adjusted when there are several."""
    docs = [load_report(p) for p in paths]
    base = per_seed(docs[0], metric)
    if not base:
        raise UsageError(f"{paths[0]}: no seed has a value for {metric!r}")
    rows = []
    for path, doc in zip(paths[1:], docs[1:], strict=True):
        other = per_seed(doc, metric)
        common = sorted(set(base) & set(other))
        if len(common) < 2:
            raise UsageError(f"{paths[0]} and {path} share {len(common)} seed(s) with {metric!r}; "
                             "a paired comparison needs the same seeds, at least two")
        if docs[0]["dataset"].get("fingerprint") != doc["dataset"].get("fingerprint"):
            raise UsageError(f"{paths[0]} and {path} were scored on different data (dataset fingerprints differ)")
        result = compare_paired([base[s] for s in common], [other[s] for s in common],
                                higher_is_better=is_higher_better(metric))
        rows.append({"a": str(paths[0]), "b": str(path), "seeds": common} | result.to_dict())
    if len(rows) > 1:
        adjusted = holm([r["p_value"] for r in rows], alpha)
        for row, p_adj, reject in zip(rows, adjusted.adjusted, adjusted.reject, strict=True):
            row |= {"p_holm": p_adj, "significant_holm": bool(reject)}
    return {"metric": metric, "alpha": alpha, "comparisons": rows}
