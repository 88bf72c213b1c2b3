"""Reports: strict JSON and the console summary."""

from ._console import print_eval
from ._json import clean, dumps

__all__ = ["clean", "dumps", "print_eval"]
