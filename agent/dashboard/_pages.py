"""Templates, highlighted source and the package's own static files (no CDN: the machine may be offline).

Jinja2 escapes every value (autoescape on for every template); the only markup that goes in
unescaped is what this package built itself: the SVG charts (which escape their labels) and
Pygments' rendering of model source (which escapes the code).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

__all__ = ["render", "source_html", "static_file"]

_STATIC = {"style.css": "text/css; charset=utf-8"}


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("agent.dashboard", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters |= {"num": _num, "when": _when, "pretty": _pretty}
    return env


def render(name: str, **ctx) -> str:
    return _env().get_template(name).render(**ctx)


def _num(v, digits: int = 4) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _when(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(v, datetime) else "-"


def _pretty(v) -> str:
    return json.dumps(v, indent=2, sort_keys=True, default=str)


def source_html(source: str) -> Markup:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return Markup(highlight(source, PythonLexer(), HtmlFormatter(cssclass="src")))


@cache
def static_file(name: str) -> tuple[bytes, str] | None:
    if name == "pygments.css":
        from pygments.formatters import HtmlFormatter

        return HtmlFormatter(cssclass="src").get_style_defs(".src").encode(), "text/css; charset=utf-8"
    if name not in _STATIC:
        return None
    return resources.files("agent.dashboard").joinpath("static", name).read_bytes(), _STATIC[name]
