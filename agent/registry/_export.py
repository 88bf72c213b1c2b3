"""JSON in and out: the strict encoding every JSON column uses, and the run export."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import RegistryError
from ._records import RunSnapshot

__all__ = ["EXPORT_VERSION", "build_export", "dumps", "jsonable", "write_json"]

EXPORT_VERSION = 1


def jsonable(obj: Any) -> Any:
    """Plain JSON values: non-finite floats become ``None`` (JSON has no NaN, as in the report),
    numpy scalars/arrays and pydantic models become their Python values, keys become strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, BaseModel):
        return jsonable(obj.model_dump(mode="json"))
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays, without importing numpy here
        return jsonable(obj.tolist())
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def dumps(obj: Any, what: str) -> str:
    """Strict JSON with sorted keys (stable bytes); ``what`` names the value in the error."""
    try:
        return json.dumps(jsonable(obj), sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise RegistryError(
            f"cannot store {what} as JSON ({exc}); pass plain dicts, lists, numbers and strings") from exc


def build_export(snap: RunSnapshot) -> dict[str, Any]:
    """The snapshot as nested plain values with recursively sorted keys."""
    from ._schema import SCHEMA_VERSION

    data = {
        "export_version": EXPORT_VERSION,
        "registry_schema_version": SCHEMA_VERSION,
        "run": snap.run.model_dump(mode="json"),
        "trials": [t.model_dump(mode="json") for t in snap.trials],
        "artifacts": [a.model_dump(mode="json") for a in snap.artifacts],
        "llm_calls": [c.model_dump(mode="json") for c in snap.llm_calls],
    }
    return _sorted(jsonable(data))


def _sorted(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _sorted(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [_sorted(v) for v in obj]
    return obj


def write_json(data: Mapping[str, Any], path: Path) -> Path:
    """Write via a temporary file in the same folder and ``os.replace`` (atomic on POSIX)."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RegistryError(
            f"cannot write the export to {path} ({exc.strerror or exc}); choose a writable path") from exc
    return path
