"""Charts as inline SVG strings, drawn on the server for the dashboard and the static HTML report.

A strict Content-Security-Policy forbids script and ``style=``: looks come from ``class=`` and SVG
presentation attributes (which any stylesheet rule overrides). Labels can be untrusted: ``_el``
escapes every attribute, ``_esc`` every text, ``_safe_href`` every link. Non-finite values are skipped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["bound_svg", "interval_svg", "learning_curves_svg"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
DASHES = ("", "6 4", "1.5 3", "8 3 2 3")  # solid, dashed, dotted, dash-dot: one per key
TARGET_COLOUR, FAILED_COLOUR = "#2ca02c", "#d62728"
# Left and bottom margins hold the tick labels; the top one grows when a visible title is drawn.
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 38
MIN_WIDTH, MIN_HEIGHT = 160, 60  # below this the margins would swallow the plot
HUGE = 1e300  # beyond this a range overflows to inf; such a value cannot be placed, so it is skipped
EMPTY_CURVES = '<p class="empty">no curves recorded</p>'
EMPTY_TRIALS = '<p class="empty">no trials yet</p>'
EMPTY_BOUND = '<p class="empty">no interval yet</p>'


def _esc(x: Any) -> str:
    """Text or attribute value, escaped; control characters dropped because XML forbids them."""
    return html.escape("".join(c for c in str(x) if c >= " " or c in "\t\n\r"), quote=True)


def _el(tag: str, inner: str = "", **attrs: Any) -> str:
    """``<tag class_=.. stroke_width=..>inner``: ``inner`` is built markup; None or "" drops an attribute."""
    parts = "".join(f' {k.rstrip("_").replace("_", "-")}="{_esc(f"{v:.1f}" if isinstance(v, float) else v)}"'
                    for k, v in attrs.items() if v is not None and v != "")
    return f"<{tag}{parts}>{inner}</{tag}>" if inner else f"<{tag}{parts}/>"


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) and abs(v) < HUGE else None


def _token(x: Any) -> str:
    """A status as one class token: a space in it would otherwise smuggle in extra classes."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(x or "unknown")) or "unknown"


def _safe_href(link: Any) -> str | None:
    """Only same-site relative links; ``//host`` and ``/\\host`` are absolute to a browser."""
    if not isinstance(link, str) or not link.startswith(("/", "?", "#")) or link[:2] in ("//", "/\\"):
        return None
    return None if any(c < " " or c in "\\\x7f" for c in link) else link  # browsers drop tabs: "/\t/x"


def _span(values: Sequence[float], pad: float = 0.05) -> tuple[float, float]:
    """The data range with ``pad`` on each side; never empty, so scaling never divides by zero."""
    lo, hi = min(values), max(values)
    constant = hi - lo <= 1e-9 * max(abs(lo), abs(hi))  # or so near it that ticks would all read alike
    d = (abs(lo) * 0.05 or 1.0) if constant else (hi - lo) * pad  # a constant series sits mid-plot
    return lo - d, hi + d


def _lerp(v: float, dom: tuple[float, float], a: float, b: float) -> float:
    return a + (v - dom[0]) / (dom[1] - dom[0]) * (b - a)


def _ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten) inside ``lo..hi``, about ``n`` of them."""
    raw = (hi - lo) / n
    if not raw > 0:  # a subnormal range underflows to zero: no ticks rather than log10(0)
        return []
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    step = max(1.0, float(round(step))) if integer else step  # epochs and trial numbers have no halves
    k, out = math.ceil(lo / step - 1e-9), []
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 12))
        k += 1
    return out


def _svg(kind: str, width: int, height: int, label: str, body: list[str]) -> str:
    inner = _el("title", _esc(label)) + _el("g", "".join(body), font_size=11, font_family="sans-serif")
    return _el("svg", inner, xmlns="http://www.w3.org/2000/svg", class_=f"chart {kind}",
               viewBox=f"0 0 {width} {height}", role="img", aria_label=label)


class _Frame:
    """The plot box inside the margins and the maps from data to pixels (y grows downwards)."""

    def __init__(self, width: int, height: int, xdom: tuple[float, float], ydom: tuple[float, float],
                 top: int = TOP) -> None:
        self.left, self.right, self.top, self.bottom = LEFT, width - RIGHT, top, height - BOTTOM
        self.xdom, self.ydom = xdom, ydom

    def x(self, v: float) -> float:
        return _lerp(v, self.xdom, self.left, self.right)

    def y(self, v: float) -> float:
        return _lerp(v, self.ydom, self.bottom, self.top)

    def axes(self, xlabel: str, ylabel: str = "", integer_x: bool = False) -> str:
        """Both axes, a faint grid line per y tick, and the tick labels."""
        lft, rgt, top, bot, mid = self.left, self.right, self.top, self.bottom, (self.top + self.bottom) / 2
        out = [_el("line", x1=lft, y1=bot, x2=rgt, y2=bot, stroke="currentColor"),
               _el("line", x1=lft, y1=top, x2=lft, y2=bot, stroke="currentColor")]
        for v in _ticks(*self.ydom):
            y = self.y(v)
            out += [_el("line", class_="grid", x1=lft, y1=y, x2=rgt, y2=y, stroke="currentColor", stroke_opacity=".12"),
                    _el("text", _esc(f"{v:.4g}"), class_="tick", x=lft - 6, y=y, dy="0.32em", text_anchor="end")]
        out += [_el("text", _esc(f"{v:.4g}"), class_="tick", x=self.x(v), y=bot + 15, text_anchor="middle")
                for v in _ticks(*self.xdom, integer=integer_x)]
        out.append(_el("text", _esc(xlabel), class_="axis-label", x=(lft + rgt) / 2, y=bot + 31, text_anchor="middle"))
        if ylabel:  # rotated about its own anchor so it reads bottom to top beside the ticks
            out.append(_el("text", _esc(ylabel), class_="axis-label", x=14, y=mid, text_anchor="middle",
                           transform=f"rotate(-90 14 {mid:.1f})"))
        return _el("g", "".join(out), class_="axes", fill="currentColor")


def learning_curves_svg(curves_by_seed: Mapping[Any, Mapping[str, Sequence[float | None]]],
                        keys: Sequence[str] = ("train_loss", "val_loss"), *, title: str = "",
                        width: int = 640, height: int = 280) -> str:
    """One polyline per (seed, key), x = epoch (1-based); colour per seed, dash per key."""
    series = []  # (seed index, seed, key index, key, [(epoch, value)])
    for si, (seed, curves) in enumerate((curves_by_seed or {}).items()):
        for ki, key in enumerate(keys):
            values = (curves or {}).get(key) or ()
            pts = [(i, v) for i, raw in enumerate(values, 1) if (v := _finite(raw)) is not None]
            if pts:
                series.append((si, seed, ki, key, pts))
    if not series:
        return EMPTY_CURVES
    width, height = max(int(width), MIN_WIDTH), max(int(height), MIN_HEIGHT)
    xs = [float(e) for *_, pts in series for e, _ in pts]
    ys = [v for *_, pts in series for _, v in pts]
    frame = _Frame(width, height, _span(xs, pad=0.0), _span(ys), top=TOP + 16 if title else TOP)
    body = [frame.axes("epoch", integer_x=True)]
    if title:  # the root <title> is only a tooltip; a named chart also shows its name
        body.append(_el("text", _esc(title), class_="title", x=LEFT, y=16, font_weight="bold"))
    for si, seed, ki, key, pts in series:
        body.append(_el("polyline", _el("title", _esc(f"seed {seed} {key}")), class_="curve", data_seed=seed,
                        data_key=key, points=" ".join(f"{frame.x(e):.1f},{frame.y(v):.1f}" for e, v in pts),
                        fill="none", stroke=PALETTE[si % len(PALETTE)], stroke_width="1.6",
                        stroke_linejoin="round", stroke_linecap="round", stroke_dasharray=DASHES[ki % len(DASHES)]))
    body.append(_legend(frame, sorted({(ki, key) for _, _, ki, key, _ in series})))
    return _svg("curves", width, height, title or "learning curves", body)


def _legend(frame: _Frame, keys: list[tuple[int, str]]) -> str:
    """Each key once, top right, text anchored at its end so a long key grows into the plot."""
    x, out = frame.right - 6, []
    for row, (ki, key) in enumerate(keys):
        y = frame.top + 10 + 14 * row
        out += [_el("line", x1=x - 22, y1=y, x2=x, y2=y, stroke="currentColor", stroke_width="1.6",
                    stroke_dasharray=DASHES[ki % len(DASHES)]),
                _el("text", _esc(key), x=x - 28, y=y, dy="0.32em", text_anchor="end")]
    return _el("g", "".join(out), class_="legend", fill="currentColor")


def interval_svg(points: Sequence[Mapping[str, Any]], *, target: float | None = None,
                 higher_is_better: bool = True, metric: str = "accuracy", width: int = 640,
                 height: int = 280, href: Callable[[Mapping[str, Any]], str] | None = None) -> str:
    """Metric (with its interval) against trial number; failed trials as crosses along the bottom."""
    rows = [(x, p) for i, p in enumerate(points or ()) if (x := _finite(p.get("number", i + 1))) is not None]
    if not rows:
        return EMPTY_TRIALS
    width, height = max(int(width), MIN_WIDTH), max(int(height), MIN_HEIGHT)
    tgt = _finite(target)
    ys = [v for _, p in rows for k in ("mean", "low", "high") if (v := _finite(p.get(k))) is not None]
    ys += [tgt] if tgt is not None else []
    frame = _Frame(width, height, _span([x for x, _ in rows]), _span(ys or [0.0, 1.0]))
    body = [frame.axes("trial", f"{metric} ({'higher' if higher_is_better else 'lower'} is better)", integer_x=True)]
    if tgt is not None:
        body += [_el("line", class_="target", x1=frame.left, y1=frame.y(tgt), x2=frame.right, y2=frame.y(tgt),
                     stroke=TARGET_COLOUR, stroke_dasharray="5 3"),
                 _el("text", _esc(f"target {tgt:.4g}"), class_="target-label", x=frame.right - 4,
                     y=frame.y(tgt) - 4, text_anchor="end", fill=TARGET_COLOUR)]
    for x, p in rows:
        low, high = _finite(p.get("low")), _finite(p.get("high"))
        if low is not None and high is not None:
            body.append(_el("line", class_="interval", data_number=p.get("number"), x1=frame.x(x),
                            y1=frame.y(low), x2=frame.x(x), y2=frame.y(high), stroke="currentColor",
                            stroke_width="1.5"))
    for x, p in rows:
        mark, link = _mark(frame, x, p, metric), _safe_href(href(p)) if href else None
        body.append(_el("a", mark, href=link) if link else mark)
    return _svg("intervals", width, height, f"{metric} by trial", body)


def _mark(frame: _Frame, x: float, p: Mapping[str, Any], metric: str) -> str:
    """A circle for a trial with a mean, a cross at the bottom for one without (it failed)."""
    number, status, mean = p.get("number"), _token(p.get("status")), _finite(p.get("mean"))
    label, cx = p.get("label") or f"trial {number}", frame.x(x)
    if mean is None:
        cy, r = frame.bottom - 6, 4
        d = f"M{cx - r:.1f},{cy - r}L{cx + r:.1f},{cy + r}M{cx - r:.1f},{cy + r}L{cx + r:.1f},{cy - r}"
        return _el("path", _el("title", _esc(f"{label}, {p.get('status') or 'failed'}")),
                   class_=f"point failed status-{status}", data_number=number, d=d, stroke=FAILED_COLOUR,
                   stroke_width="2")
    low, high = _finite(p.get("low")), _finite(p.get("high"))
    both = low is not None and high is not None
    tip = f"{label}, {metric} {mean:.4f}" + (f" [{low:.4f}, {high:.4f}]" if both else "")
    return _el("circle", _el("title", _esc(tip)), class_=f"point status-{status}", data_number=number, cx=cx,
               cy=frame.y(mean), r=4, fill=PALETTE[0])


def bound_svg(mean: float | None, lower: float | None, upper: float | None, target: float | None,
              *, higher_is_better: bool = True, metric: str = "accuracy", width: int = 640,
              height: int = 90) -> str:
    """The run's decision: the interval as a bar on one axis with the mean and the target marked."""
    m, lo, hi, tgt = (_finite(v) for v in (mean, lower, upper, target))
    if m is None or lo is None or hi is None:
        return EMPTY_BOUND
    lo, hi = min(lo, hi), max(lo, hi)
    width, height = max(int(width), MIN_WIDTH), max(int(height), MIN_HEIGHT)
    dom = _span([m, lo, hi] + ([tgt] if tgt is not None else []), pad=0.1)
    # Rows are fractions of the height, so a taller chart spreads out; the side margins hold a 4-decimal label.
    left, right, h = 64, width - 64, height

    def x(v: float) -> float:
        return _lerp(v, dom, left, right)

    body = [_el("line", class_="axis", x1=left, y1=0.58 * h, x2=right, y2=0.58 * h, stroke="currentColor"),
            _el("rect", class_="bound", x=x(lo), y=0.24 * h, width=max(x(hi) - x(lo), 1.0), height=0.27 * h,
                fill=PALETTE[0], fill_opacity="0.3", data_verdict=_verdict(lo, hi, tgt, higher_is_better)),
            _el("line", class_="mean", x1=x(m), y1=0.2 * h, x2=x(m), y2=0.55 * h, stroke="currentColor",
                stroke_width="2"),
            _label(x(m), 0.16 * h, "middle", f"mean {m:.4f}"),
            _label(x(lo) - 3, 0.73 * h, "end", f"{lo:.4f}"),
            _label(x(hi) + 3, 0.73 * h, "start", f"{hi:.4f}")]
    if tgt is not None:
        body += [_el("line", class_="target", x1=x(tgt), y1=0.2 * h, x2=x(tgt), y2=0.8 * h, stroke=TARGET_COLOUR,
                     stroke_width="2", stroke_dasharray="4 2"),
                 _label(x(tgt), 0.93 * h, "middle", f"target {tgt:.4f}")]
    label = (f"{metric}: mean {m:.4f}, interval [{lo:.4f}, {hi:.4f}]" + (f", target {tgt:.4f}" if tgt is not None
             else "") + f", {'higher' if higher_is_better else 'lower'} is better")
    return _svg("bound", width, height, label, body)


def _label(x: float, y: float, anchor: str, text: str) -> str:
    return _el("text", _esc(text), x=x, y=y, text_anchor=anchor, fill="currentColor")


def _verdict(lo: float, hi: float, tgt: float | None, higher_is_better: bool) -> str | None:
    """``pass`` when the whole interval is on the good side of the target, ``fail`` when on the bad."""
    if tgt is None:
        return None
    good, bad = (lo >= tgt, hi < tgt) if higher_is_better else (hi <= tgt, lo > tgt)
    return "pass" if good else "fail" if bad else "open"
