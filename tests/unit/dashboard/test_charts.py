"""The inline SVG charts: well-formed XML, the right marks, nothing unescaped, nothing non-finite drawn."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from agent.dashboard._charts import bound_svg, interval_svg, learning_curves_svg

NS = "{http://www.w3.org/2000/svg}"
PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' onload='alert(1)")


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{NS}svg"
    return root


def find(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{NS}{tag}")
    return [e for e in found if cls is None or cls in e.get("class", "").split()]


def points_of(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polyline.get("points").split()]


def assert_inert(svg: str, root: ET.Element, payload: str) -> None:
    """No element or attribute the payload tried to inject, and the raw text never appears."""
    assert payload not in svg
    for el in root.iter():
        assert el.tag.removeprefix(NS) not in ("script", "img", "foreignObject")
        assert not [name for name in el.attrib if name.lower().startswith("on")]
        assert "style" not in el.attrib


def assert_all_numbers_finite(root: ET.Element) -> None:
    for el in root.iter():
        for name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height"):
            if name in el.attrib:
                assert math.isfinite(float(el.get(name))), (el.tag, name, el.get(name))
    assert all("nan" not in (e.get("points") or "") + (e.get("d") or "") for e in root.iter())


# Learning curves ------------------------------------------------------------------------------

def test_one_polyline_per_seed_and_key_with_a_point_per_epoch():
    curves = {0: {"train_loss": [1.0, 0.8, 0.6], "val_loss": [1.1, 0.9, 0.7]},
              1: {"train_loss": [1.2, 1.0, 0.9], "val_loss": [1.3, 1.1, 1.0]}}
    root = parse(learning_curves_svg(curves))
    lines = find(root, "polyline", "curve")
    assert len(lines) == 4
    assert {(e.get("data-seed"), e.get("data-key")) for e in lines} == {
        ("0", "train_loss"), ("0", "val_loss"), ("1", "train_loss"), ("1", "val_loss")}
    assert all(len(points_of(e)) == 3 for e in lines)
    assert {e.find(f"{NS}title").text for e in lines} >= {"seed 0 train_loss", "seed 1 val_loss"}


def test_the_root_names_its_kind_and_carries_a_title():
    root = parse(learning_curves_svg({0: {"train_loss": [1.0, 0.5]}}, title="digits", width=500, height=200))
    assert root.get("class") == "chart curves"
    assert root.get("viewBox") == "0 0 500 200"
    assert root.get("role") == "img" and root.get("aria-label") == "digits"
    assert root.find(f"{NS}title").text == "digits"


def test_higher_values_are_drawn_higher_and_epochs_left_to_right():
    (line,) = find(parse(learning_curves_svg({0: {"train_loss": [1.0, 0.5, 0.25]}})), "polyline")
    (x1, y1), (x2, y2), (x3, y3) = points_of(line)
    assert x1 < x2 < x3 and y1 < y2 < y3  # the loss falls, so y (downwards in SVG) grows


@pytest.mark.parametrize("gap", [float("nan"), None, float("inf"), "oops"])
def test_a_non_finite_value_is_skipped_and_keeps_its_epoch(gap):
    (line,) = find(parse(learning_curves_svg({0: {"train_loss": [1.0, gap, 0.5]}})), "polyline")
    (x1, _), (x3, _) = points_of(line)
    full = points_of(find(parse(learning_curves_svg({0: {"train_loss": [1.0, 0.7, 0.5]}})), "polyline")[0])
    assert (x1, x3) == (full[0][0], full[2][0])  # epoch 3 stays at epoch 3, not at epoch 2


@pytest.mark.parametrize("curves", [{}, {0: {}}, {0: {"train_loss": [float("nan"), None]}},
                                    {0: {"other": [1.0, 2.0]}}, {0: None}])
def test_nothing_finite_gives_the_empty_paragraph(curves):
    assert learning_curves_svg(curves) == '<p class="empty">no curves recorded</p>'


def test_a_seed_without_a_key_draws_only_what_it_has():
    lines = find(parse(learning_curves_svg({0: {"train_loss": [1.0]}, 1: {"train_loss": [1.0], "val_loss": [2.0]}})),
                 "polyline")
    assert sorted((e.get("data-seed"), e.get("data-key")) for e in lines) == [
        ("0", "train_loss"), ("1", "train_loss"), ("1", "val_loss")]


def test_the_legend_lists_each_key_once_with_a_dash_per_key_and_a_colour_per_seed():
    curves = {s: {"train_loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "test_loss": [1.3, 0.8]} for s in range(3)}
    root = parse(learning_curves_svg(curves, keys=("train_loss", "val_loss", "test_loss")))
    (legend,) = find(root, "g", "legend")
    assert [t.text for t in legend.iter(f"{NS}text")] == ["train_loss", "val_loss", "test_loss"]
    dashes = [e.get("stroke-dasharray") for e in legend.iter(f"{NS}line")]
    assert dashes[0] is None and None not in dashes[1:] and len(set(dashes)) == 3
    lines = find(root, "polyline")
    assert len({e.get("stroke") for e in lines}) == 3
    assert {e.get("stroke-dasharray") for e in lines if e.get("data-key") == "train_loss"} == {None}


def test_a_constant_or_single_point_series_does_not_crash():
    for curves in ({0: {"train_loss": [0.5, 0.5, 0.5]}}, {0: {"train_loss": [0.0]}}, {0: {"train_loss": [1e-320, 0]}}):
        root = parse(learning_curves_svg(curves))
        assert find(root, "polyline")
        assert_all_numbers_finite(root)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_curve_labels_are_escaped(payload):
    svg = learning_curves_svg({payload: {payload: [1.0, 0.5]}}, keys=(payload,), title=payload)
    root = parse(svg)
    assert_inert(svg, root, payload)
    (line,) = find(root, "polyline")
    assert line.get("data-seed") == payload and line.get("data-key") == payload  # escaped, so it reads back intact


# Intervals --------------------------------------------------------------------------------

def trial(number, mean, low=None, high=None, status="ok", label=None) -> dict:
    return {"number": number, "mean": mean, "low": low, "high": high, "status": status,
            "label": label or f"trial {number}: explore cnn"}


def test_a_circle_per_finite_mean_and_a_cross_per_failed_trial():
    pts = [trial(1, 0.8, 0.78, 0.82), trial(2, 0.85, 0.8, 0.9), trial(3, None, status="timeout"),
           trial(4, float("nan"), status="failed")]
    root = parse(interval_svg(pts))
    circles = root.findall(f".//{NS}circle")
    assert [c.get("data-number") for c in circles] == ["1", "2"]
    assert all(c.get("class") == "point status-ok" for c in circles)
    failed = find(root, "path", "failed")
    assert [(f.get("data-number"), f.get("class")) for f in failed] == [
        ("3", "point failed status-timeout"), ("4", "point failed status-failed")]
    bottom = float(find(root, "g", "axes")[0].find(f"{NS}line").get("y1"))
    assert all(bottom - 20 < float(f.get("d").split(",")[1].split("L")[0]) < bottom for f in failed)
    assert circles[0].find(f"{NS}title").text.startswith("trial 1: explore cnn")


def test_interval_lines_only_when_both_bounds_are_finite():
    pts = [trial(1, 0.8, 0.7, 0.9), trial(2, 0.8, None, 0.9), trial(3, 0.8, 0.7, float("nan")),
           trial(4, 0.8, float("inf"), 0.9), trial(5, 0.8)]
    lines = find(parse(interval_svg(pts)), "line", "interval")
    assert [e.get("data-number") for e in lines] == ["1"]
    assert float(lines[0].get("y1")) > float(lines[0].get("y2"))  # low is drawn below high


def test_the_target_line_sits_between_a_lower_and_a_higher_point():
    root = parse(interval_svg([trial(1, 0.7), trial(2, 0.95)], target=0.9))
    (target,) = find(root, "line", "target")
    assert target.get("y1") == target.get("y2")
    low, high = (float(c.get("cy")) for c in root.iter(f"{NS}circle"))
    assert high < float(target.get("y1")) < low  # smaller y is higher on the page
    assert any(t.text == "target 0.9" for t in root.iter(f"{NS}text"))


def test_the_target_widens_the_range_so_it_is_always_on_the_chart():
    root = parse(interval_svg([trial(1, 0.5), trial(2, 0.51)], target=0.99, height=280))
    (target,) = find(root, "line", "target")
    assert 0 < float(target.get("y1")) < float(root.find(f".//{NS}circle").get("cy"))


def test_no_target_no_target_line():
    assert find(parse(interval_svg([trial(1, 0.7)])), "line", "target") == []


def test_relative_links_wrap_the_points():
    root = parse(interval_svg([trial(1, 0.7), trial(2, None)], href=lambda p: f"/runs/r1/trials/{p['number']}?a=1&b=2"))
    links = root.findall(f".//{NS}a")
    assert [a.get("href") for a in links] == ["/runs/r1/trials/1?a=1&b=2", "/runs/r1/trials/2?a=1&b=2"]
    assert links[0].find(f"{NS}circle") is not None


@pytest.mark.parametrize("link", ["javascript:alert(1)", "http://evil", "//evil.example", "/\\evil.example",
                                  "/\t/evil.example", "JaVaScRiPt:alert(1)", "data:text/html,x", "", None])
def test_unsafe_or_absolute_links_are_dropped(link):
    svg = interval_svg([trial(1, 0.7)], href=lambda p: link)
    root = parse(svg)
    assert root.findall(f".//{NS}a") == []
    assert root.find(f".//{NS}circle") is not None


@pytest.mark.parametrize("payload", PAYLOADS)
def test_trial_labels_statuses_metrics_and_links_are_escaped(payload):
    pts = [trial(1, 0.7, 0.6, 0.8, status=payload, label=payload), trial(2, None, status=payload, label=payload)]
    svg = interval_svg(pts, metric=payload, target=0.5, href=lambda p: "/t?q=" + payload)
    root = parse(svg)
    assert_inert(svg, root, payload)
    assert payload in root.find(f".//{NS}circle/{NS}title").text
    for mark in find(root, "circle") + find(root, "path"):
        assert all(token.startswith(("point", "status-", "failed")) for token in mark.get("class").split())


def test_empty_input_gives_the_empty_paragraph():
    assert interval_svg([]) == '<p class="empty">no trials yet</p>'


def test_constant_means_and_a_single_trial_do_not_crash():
    for pts in ([trial(1, 0.5), trial(2, 0.5)], [trial(7, 0.5)], [trial(1, None)], [trial(1, 0.5, 0.5, 0.5)]):
        root = parse(interval_svg(pts, target=None))
        assert_all_numbers_finite(root)


# Bound ------------------------------------------------------------------------------------

def test_the_bound_bar_spans_lower_to_upper_with_mean_and_target_marked():
    root = parse(bound_svg(0.9, 0.88, 0.92, 0.85))
    assert root.get("class") == "chart bound"
    (rect,) = find(root, "rect", "bound")
    (mean,) = find(root, "line", "mean")
    (target,) = find(root, "line", "target")
    left, right = float(rect.get("x")), float(rect.get("x")) + float(rect.get("width"))
    assert left < float(mean.get("x1")) < right
    assert float(target.get("x1")) < left  # the target is below the whole interval
    texts = {t.text for t in root.iter(f"{NS}text")}
    assert {"mean 0.9000", "0.8800", "0.9200", "target 0.8500"} <= texts
    assert rect.get("data-verdict") == "pass"


@pytest.mark.parametrize(("lower", "upper", "higher", "verdict"), [
    (0.80, 0.84, True, "fail"), (0.84, 0.88, True, "open"), (0.86, 0.9, False, "fail"), (0.8, 0.84, False, "pass")])
def test_the_verdict_follows_the_direction_of_the_metric(lower, upper, higher, verdict):
    root = parse(bound_svg((lower + upper) / 2, lower, upper, 0.85, higher_is_better=higher))
    assert find(root, "rect", "bound")[0].get("data-verdict") == verdict


@pytest.mark.parametrize("args", [(None, 0.8, 0.9, 0.85), (0.85, float("nan"), 0.9, 0.85), (0.85, 0.8, None, 0.9)])
def test_a_missing_mean_or_bound_gives_the_empty_paragraph(args):
    assert bound_svg(*args) == '<p class="empty">no interval yet</p>'


def test_a_bound_without_a_target_or_with_zero_width_still_draws():
    root = parse(bound_svg(0.9, 0.88, 0.92, None))
    assert find(root, "line", "target") == [] and find(root, "rect", "bound")[0].get("data-verdict") is None
    root = parse(bound_svg(0.5, 0.5, 0.5, 0.5))
    assert float(find(root, "rect", "bound")[0].get("width")) > 0
    assert_all_numbers_finite(root)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_bound_metric_is_escaped(payload):
    svg = bound_svg(0.9, 0.88, 0.92, 0.85, metric=payload)
    root = parse(svg)
    assert_inert(svg, root, payload)
    assert root.get("aria-label").startswith(payload)
