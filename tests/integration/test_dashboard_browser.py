"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright) over
registries filled by real runs: what a user sees and clicks, a page that follows a running run,
and hostile text from models and LLMs that must execute nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from agent.dashboard import create_app
from agent.planner import Proposal
from agent.registry import RunStatus, SQLiteRegistry
from agent.specs import Goal, MLPSpec, TrainingSpec, TrialSpec
from agent.study import StudyConfig
from tests.conftest import IN_CI, REPO
from tests.dashboard_server import Served, free_port
from tests.reports import make_report

CHROMIUM = Path("/usr/bin/chromium")
# DESIGN.md's flags for Debian's chromium in a container-less CI (no GPU, no network, no sync).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
GOAL = "Design a model for the digits dataset with at least 90% accuracy"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("chromium is missing: `make test` installs it (scripts/ensure_browser.sh)")
        pytest.skip("chromium is not installed (scripts/ensure_browser.sh)")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1300, "height": 1000})
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def _cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=os.environ | {"RESEARCH_AGENT_HOME": str(home)})


@pytest.fixture(scope="module")
def real_home(sandbox_image, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("dashboard-home")
    done = _cli(home, "run", "--goal", GOAL, "--max-iterations", "4", "--json")
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return home


def _drawn(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["width"] > 0 and box["height"] > 0


def test_runs_run_trial_and_compare_pages_of_a_real_run(page, real_home):
    with SQLiteRegistry(real_home / "registry.sqlite") as reg:
        (summary,) = reg.list_runs()
        trials = reg.list_trials(summary.id)
        port = free_port()
        with Served(create_app(reg, port=port), port) as base:
            page.goto(base + "/")
            link = page.get_by_role("link", name=summary.id)
            assert link.is_visible()
            assert page.locator("#runs tr.run .status").first.inner_text() == summary.status.value
            link.click()
            page.wait_for_url(f"**/runs/{summary.id}")
            assert summary.status.value.replace("_", " ") in page.locator("#decision").inner_text().replace("_", " ")
            assert page.locator("#tree li.trial").count() == len(trials)
            points = page.locator("svg.chart.intervals circle.point")
            assert points.count() == sum(1 for t in trials if t.mean("accuracy") is not None) > 0
            assert _drawn(points.first) and _drawn(page.locator("svg.chart.intervals"))
            best_curves = page.locator("#best-curves svg.chart.curves polyline.curve")
            assert best_curves.count() >= 2 and _drawn(best_curves.first)  # the learning curves, really drawn

            page.locator("#tree li.trial a", has_text="trial 1").click()
            page.wait_for_url(f"**/runs/{summary.id}/trials/1")
            curves = page.locator("svg.chart.curves polyline.curve")
            assert curves.count() >= 2 and _drawn(curves.first)
            assert "def forward" in page.locator("#source").inner_text()  # the assembled model, highlighted

            page.go_back()
            boxes = page.locator("#trials input[type=checkbox]")
            boxes.nth(0).check()
            boxes.nth(1).check()
            page.get_by_role("button", name="compare the checked trials").click()
            page.wait_for_url("**/compare?trial=1&trial=2")
            assert page.locator("#side-by-side th a").count() == 2
            paired = page.locator("#paired").inner_text()
            assert "trial 1 vs trial 2" in paired or "share" in paired  # explorations have one seed each


def test_a_page_follows_a_run_while_it_is_in_progress(page, sandbox_image, tmp_path):
    home = tmp_path / "home"
    run = subprocess.Popen([sys.executable, "-m", "agent", "run", "--goal", GOAL, "--max-iterations", "3"],
                           cwd=REPO, env=os.environ | {"RESEARCH_AGENT_HOME": str(home)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (home / "registry.sqlite").exists():
            assert time.monotonic() < deadline and run.poll() is None, "the run never started"
            time.sleep(0.2)
        with SQLiteRegistry(home / "registry.sqlite") as reg:
            while not reg.list_runs():
                assert time.monotonic() < deadline, "the run was never recorded"
                time.sleep(0.2)
            run_id = reg.list_runs()[0].id
            port = free_port()
            with Served(create_app(reg, port=port), port) as base:
                page.goto(f"{base}/runs/{run_id}")
                assert page.locator("#live").is_visible()  # a running run says it refreshes
                assert page.locator("#run-status").inner_text() == "running"
                # No reload from the test: the page reloads itself until the run has ended.
                expect(page.locator("#run-status")).not_to_have_text("running", timeout=240_000)
                assert page.locator("#trial-count").inner_text() == "3 trials"
                assert page.locator("#tree li.trial").count() == 3 and page.locator("#live").count() == 0
    finally:
        run.wait(timeout=300)
        run.stderr.close()


HOSTILE_SOURCE = 'import torch\n"""</code></pre><script>alert("source")</script>"""\n'
HOSTILE_STDERR = '<img src=x onerror=alert("stderr")> Traceback ...'
HOSTILE_LLM = "<a href=\"javascript:alert('llm')\">click me</a><script>alert('llm2')</script>"
HOSTILE_GOAL = "digits <script>alert('goal')</script> 85%"


def _hostile(reg) -> str:
    config = StudyConfig(goal=Goal(text=HOSTILE_GOAL, dataset="digits", target=0.85), seeds=3)
    run = reg.create_run(HOSTILE_GOAL, config.model_dump(mode="json"))
    reg.record_llm_call(run.id, "propose", {"messages": [{"role": "user", "content": "plan"}]},
                        {"choices": [{"message": {"content": HOSTILE_LLM}}]}, prompt_tokens=3, completion_tokens=5)
    spec = TrialSpec(model=MLPSpec(), training=TrainingSpec(epochs=2), origin="llm",
                     rationale='<svg onload=alert("rationale")>')
    rung = Proposal(spec=spec, action="explore", candidate="<b>c</b>", seeds=[0, 1]).model_dump(mode="json")
    t = reg.start_trial(run.id, rung["spec"], HOSTILE_SOURCE, rung=rung)
    report = make_report(seeds=[0, 1], status="crashed", message='<iframe src="javascript:alert(1)">',
                         sandbox={"limits": {}, "wall_s": 1.0, "exit_code": 1, "stderr_tail": HOSTILE_STDERR})
    reg.finish_trial(t.id, report)
    reg.set_run_status(run.id, RunStatus.FAILED, decision={"reason": "<script>alert('reason')</script>"})
    return run.id


def test_hostile_text_from_models_and_llms_executes_nothing(page, tmp_path):
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    with SQLiteRegistry(tmp_path / "registry.sqlite") as reg:
        run_id = _hostile(reg)
        port = free_port()
        with Served(create_app(reg, port=port), port) as base:
            for path in ("/", f"/runs/{run_id}", f"/runs/{run_id}/trials/1", f"/runs/{run_id}/llm"):
                page.goto(base + path)
                page.wait_for_load_state("load")
                page.locator("details").evaluate_all("(all) => all.forEach(d => d.open = true)")
                page.wait_for_timeout(300)  # time for anything injected to fire
                assert page.locator("script, iframe, img, a[href^='javascript']").count() == 0, path
                assert page.locator("svg [onload]").count() == 0 and page.locator("[onerror]").count() == 0, path
            page.goto(f"{base}/runs/{run_id}/trials/1")
            assert '<script>alert("source")</script>' in page.locator("#source").inner_text()
            assert HOSTILE_STDERR in page.locator("#stderr").inner_text()
            page.goto(f"{base}/runs/{run_id}/llm")
            page.locator("details").evaluate_all("(all) => all.forEach(d => d.open = true)")
            assert "javascript:alert" in page.locator("main").inner_text()  # shown as text, never a link
    assert dialogs == []
    assert requests and all(u.startswith(base + "/") for u in requests), [u for u in requests if base not in u]
