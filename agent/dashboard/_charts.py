"""Charts as inline SVG strings, drawn on the server for the dashboard and the static HTML report.

The pages carry a strict Content-Security-Policy, so there is no script and no ``style=``: looks
come from ``class=`` (the page's stylesheet) and SVG presentation attributes (a fallback that any
stylesheet rule overrides). Labels can come from untrusted data (trial notes, dataset names), so
every piece of text passes through ``_esc``; links pass through ``_safe_href``. A value that is not
a finite number is skipped, never drawn.
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
EMPTY_CURVES = '<p class="empty">no curves recorded</p>'
EMPTY_TRIALS = '<p class="empty">no trials yet</p>'
EMPTY_BOUND = '<p class="empty">no interval yet</p>'


def _esc(x: Any) -> str:
    """Text or attribute value, escaped; control characters dropped because XML forbids them."""
    text = "".join(c for c in str(x) if c >= " " or c in "\t\n\r")
    return html.escape(text, quote=True)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _token(x: Any) -> str:
    """A status as one class token: a space in it would otherwise smuggle in extra classes."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(x or "unknown")) or "unknown"


def _safe_href(link: Any) -> str | None:
    """Only same-site relative links; ``//host`` and ``/\\host`` are absolute to a browser."""
    if not isinstance(link, str) or not link.startswith(("/", "?", "#")):
        return None
    if link[:2] in ("//", "/\\") or any(c < " " or c in "\\\x7f" for c in link):
        return None
    return link


def _span(values: Sequence[float], pad: float = 0.05) -> tuple[float, float]:
    """The data range with ``pad`` on each side; never empty, so scaling never divides by zero."""
    lo, hi = min(values), max(values)
    if hi - lo <= 0 or not math.isfinite(hi - lo):
        d = abs(lo) * 0.05 or 1.0  # a constant series: a band around it, so the line sits mid-plot
        return lo - d, hi + d
    d = (hi - lo) * pad
    return lo - d, hi + d


def _lerp(v: float, dom: tuple[float, float], a: float, b: float) -> float:
    return a + (v - dom[0]) / (dom[1] - dom[0]) * (b - a)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten) inside ``lo..hi``, about ``n`` of them."""
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(round(step)))  # epochs and trial numbers have no halves
    k, out = math.ceil(lo / step - 1e-9), []
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 12))
        k += 1
    return out


def _svg(kind: str, width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {width} {height}"'
            f' role="img" aria-label="{_esc(label)}"><title>{_esc(label)}</title>'
            f'<g font-size="11" font-family="sans-serif">{"".join(body)}</g></svg>')


class _Frame:
    """The plot box inside the margins and the maps from data to pixels (y grows downwards)."""

    def __init__(self, width: int, height: int, xdom: tuple[float, float], ydom: tuple[float, float],
                 top: int = TOP) -> None:
        self.left, self.right, self.top, self.bottom = LEFT, width - RIGHT, top, height - BOTTOM
        self.xdom, self.ydom, self.width = xdom, ydom, width

    def x(self, v: float) -> float:
        return _lerp(v, self.xdom, self.left, self.right)

    def y(self, v: float) -> float:
        return _lerp(v, self.ydom, self.bottom, self.top)

    def axes(self, xlabel: str, ylabel: str = "", integer_x: bool = False) -> str:
        """Both axes, a faint grid line per y tick, and the tick labels."""
        lft, rgt, top, bot = self.left, self.right, self.top, self.bottom
        out = ['<g class="axes" fill="currentColor">',
               f'<line x1="{lft}" y1="{bot}" x2="{rgt}" y2="{bot}" stroke="currentColor"/>',
               f'<line x1="{lft}" y1="{top}" x2="{lft}" y2="{bot}" stroke="currentColor"/>']
        for v in _ticks(*self.ydom):
            y = self.y(v)
            out.append(f'<line class="grid" x1="{lft}" y1="{y:.1f}" x2="{rgt}" y2="{y:.1f}"'
                       ' stroke="currentColor" stroke-opacity="0.12"/>')
            out.append(f'<text class="tick" x="{lft - 6}" y="{y:.1f}" dy="0.32em"'
                       f' text-anchor="end">{_esc(_fmt(v))}</text>')
        for v in _ticks(*self.xdom, integer=integer_x):
            out.append(f'<text class="tick" x="{self.x(v):.1f}" y="{bot + 15}"'
                       f' text-anchor="middle">{_esc(_fmt(v))}</text>')
        if xlabel:
            out.append(f'<text class="axis-label" x="{(lft + rgt) / 2:.1f}" y="{bot + 31}"'
                       f' text-anchor="middle">{_esc(xlabel)}</text>')
        if ylabel:
            mid = (top + bot) / 2
            out.append(f'<text class="axis-label" x="14" y="{mid:.1f}" text-anchor="middle"'
                       f' transform="rotate(-90 14 {mid:.1f})">{_esc(ylabel)}</text>')
        return "".join(out) + "</g>"


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
    if title:  # the <title> is only a tooltip; a visible one is drawn when the caller names the chart
        body.append(f'<text class="title" x="{LEFT}" y="16" font-weight="bold">{_esc(title)}</text>')
    for si, seed, ki, key, pts in series:
        coords = " ".join(f"{frame.x(e):.1f},{frame.y(v):.1f}" for e, v in pts)
        dash = f' stroke-dasharray="{DASHES[ki % len(DASHES)]}"' if ki % len(DASHES) else ""
        body.append(f'<polyline class="curve" data-seed="{_esc(seed)}" data-key="{_esc(key)}" points="{coords}"'
                    f' fill="none" stroke="{PALETTE[si % len(PALETTE)]}" stroke-width="1.6"'
                    f' stroke-linejoin="round" stroke-linecap="round"{dash}>'
                    f'<title>{_esc(f"seed {seed} {key}")}</title></polyline>')
    body.append(_legend(frame, sorted({(ki, key) for _, _, ki, key, _ in series})))
    return _svg("curves", width, height, title or "learning curves", body)


def _legend(frame: _Frame, keys: list[tuple[int, str]]) -> str:
    """Each key once, top right, text anchored at its end so a long key grows into the plot."""
    out = ['<g class="legend" fill="currentColor">']
    for row, (ki, key) in enumerate(keys):
        y, x = frame.top + 10 + 14 * row, frame.right - 6
        dash = f' stroke-dasharray="{DASHES[ki % len(DASHES)]}"' if ki % len(DASHES) else ""
        out.append(f'<line x1="{x - 22}" y1="{y}" x2="{x}" y2="{y}" stroke="currentColor" stroke-width="1.6"{dash}/>'
                   f'<text x="{x - 28}" y="{y}" dy="0.32em" text-anchor="end">{_esc(key)}</text>')
    return "".join(out) + "</g>"


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
    better = "higher" if higher_is_better else "lower"
    body = [frame.axes("trial", f"{metric} ({better} is better)", integer_x=True)]
    if tgt is not None:
        y = frame.y(tgt)
        body.append(f'<line class="target" x1="{frame.left}" y1="{y:.1f}" x2="{frame.right}" y2="{y:.1f}"'
                    f' stroke="{TARGET_COLOUR}" stroke-dasharray="5 3"/>'
                    f'<text class="target-label" x="{frame.right - 4}" y="{y - 4:.1f}" text-anchor="end"'
                    f' fill="{TARGET_COLOUR}">{_esc(f"target {_fmt(tgt)}")}</text>')
    for x, p in rows:
        low, high = _finite(p.get("low")), _finite(p.get("high"))
        if low is not None and high is not None:
            body.append(f'<line class="interval" data-number="{_esc(p.get("number", ""))}" x1="{frame.x(x):.1f}"'
                        f' y1="{frame.y(low):.1f}" x2="{frame.x(x):.1f}" y2="{frame.y(high):.1f}"'
                        ' stroke="currentColor" stroke-width="1.5"/>')
    for x, p in rows:
        mark, link = _mark(frame, x, p, metric), _safe_href(href(p)) if href else None
        body.append(f'<a href="{_esc(link)}">{mark}</a>' if link else mark)
    return _svg("intervals", width, height, f"{metric} by trial", body)


def _mark(frame: _Frame, x: float, p: Mapping[str, Any], metric: str) -> str:
    """A circle for a trial with a mean, a cross at the bottom for one without (it failed)."""
    number, status = _esc(p.get("number", "")), _token(p.get("status"))
    label, mean = p.get("label") or f"trial {p.get('number', '')}", _finite(p.get("mean"))
    cx = frame.x(x)
    if mean is None:
        cy, r = frame.bottom - 6, 4
        d = f"M{cx - r:.1f},{cy - r}L{cx + r:.1f},{cy + r}M{cx - r:.1f},{cy + r}L{cx + r:.1f},{cy - r}"
        tip = f"{label}, {p.get('status') or 'failed'}"
        return (f'<path class="point failed status-{status}" data-number="{number}" d="{d}"'
                f' stroke="{FAILED_COLOUR}" stroke-width="2"><title>{_esc(tip)}</title></path>')
    tip = f"{label}, {metric} {mean:.4f}"
    low, high = _finite(p.get("low")), _finite(p.get("high"))
    if low is not None and high is not None:
        tip += f" [{low:.4f}, {high:.4f}]"
    return (f'<circle class="point status-{status}" data-number="{number}" cx="{cx:.1f}"'
            f' cy="{frame.y(mean):.1f}" r="4" fill="{PALETTE[0]}"><title>{_esc(tip)}</title></circle>')


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
    left, right = 64, width - 64  # room for a 4-decimal label beyond either end of the bar

    def x(v: float) -> float:
        return _lerp(v, dom, left, right)

    def row(f: float) -> float:  # rows scale with the height, so a taller chart just spreads out
        return round(f * height, 1)

    verdict = _verdict(lo, hi, tgt, higher_is_better)
    body = [f'<line class="axis" x1="{left}" y1="{row(0.58)}" x2="{right}" y2="{row(0.58)}" stroke="currentColor"/>',
            f'<rect class="bound" x="{x(lo):.1f}" y="{row(0.24)}" width="{max(x(hi) - x(lo), 1.0):.1f}"'
            f' height="{row(0.27)}" fill="{PALETTE[0]}" fill-opacity="0.3"{verdict}/>',
            f'<line class="mean" x1="{x(m):.1f}" y1="{row(0.2)}" x2="{x(m):.1f}" y2="{row(0.55)}"'
            ' stroke="currentColor" stroke-width="2"/>',
            _label(x(m), row(0.16), "middle", f"mean {m:.4f}"),
            _label(x(lo) - 3, row(0.73), "end", f"{lo:.4f}"),
            _label(x(hi) + 3, row(0.73), "start", f"{hi:.4f}")]
    if tgt is not None:
        body += [f'<line class="target" x1="{x(tgt):.1f}" y1="{row(0.2)}" x2="{x(tgt):.1f}" y2="{row(0.8)}"'
                 f' stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/>',
                 _label(x(tgt), row(0.93), "middle", f"target {tgt:.4f}")]
    aim = f", target {tgt:.4f}" if tgt is not None else ""
    better = "higher" if higher_is_better else "lower"
    label = f"{metric}: mean {m:.4f}, interval [{lo:.4f}, {hi:.4f}]{aim}, {better} is better"
    return _svg("bound", width, height, label, body)


def _label(x: float, y: float, anchor: str, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}" fill="currentColor">{_esc(text)}</text>'


def _verdict(lo: float, hi: float, tgt: float | None, higher_is_better: bool) -> str:
    """``pass`` when the whole interval is on the good side of the target, ``fail`` when on the bad."""
    if tgt is None:
        return ""
    good, bad = (lo >= tgt, hi < tgt) if higher_is_better else (hi <= tgt, lo > tgt)
    return f' data-verdict="{"pass" if good else "fail" if bad else "open"}"'
