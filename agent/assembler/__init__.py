"""From a trial spec to model source, and the static checks every source passes first."""

from ._preflight import ALLOWED_IMPORT_ROOTS, PreflightResult, preflight

__all__ = ["ALLOWED_IMPORT_ROOTS", "PreflightResult", "preflight"]
