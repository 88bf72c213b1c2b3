"""Strict JSON for reports: non-finite floats become null (NaN is not JSON)."""

from __future__ import annotations

import json
import math


def clean(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


def dumps(report: dict, indent: int | None = 2) -> str:
    return json.dumps(clean(report), indent=indent, allow_nan=False)
