"""Strict JSON for reports: non-finite floats become null (NaN is not JSON)."""

from __future__ import annotations

import json

from ..results import finite as clean

__all__ = ["clean", "dumps"]


def dumps(report: dict, indent: int | None = 2) -> str:
    return json.dumps(clean(report), indent=indent, allow_nan=False)
