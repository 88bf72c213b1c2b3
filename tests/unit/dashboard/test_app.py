"""The dashboard over a real SQLite registry, served by uvicorn on 127.0.0.1 and read over HTTP:
pages and exports, the token gate, the security headers, read-only routes, bounded pages."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.dashboard import create_app
from agent.planner import Proposal
from agent.registry import RunStatus, SQLiteRegistry
from agent.specs import Goal, MLPSpec, TrainingSpec, TrialSpec
from agent.study import StudyConfig
from tests.conftest import REPO
from tests.dashboard_server import Served, fetch, free_port
from tests.reports import make_report

TOKEN = "a-long-enough-test-token-0123456789"


def _rung(action: str, seeds: list[int], width: int = 64) -> dict:
    spec = TrialSpec(model=MLPSpec(depth=2, width=width), training=TrainingSpec(epochs=2), origin="search")
    return Proposal(spec=spec, action=action, candidate=f"c{width}", seeds=seeds).model_dump(mode="json")


def fill(reg, n_trials: int = 3, goal: str = "digits 85%") -> str:
    config = StudyConfig(goal=Goal(text=goal, dataset="digits", target=0.85), seeds=3)
    run = reg.create_run(goal, config.model_dump(mode="json") | {"metric": "accuracy"}, manifest={"seeds": [3]})
    for i in range(n_trials):
        rung = _rung("promote" if i % 3 == 2 else "explore", [0, 1, 2], width=64 + 8 * (i % 2))
        t = reg.start_trial(run.id, rung["spec"], "import torch\n", rung=rung)
        reg.finish_trial(t.id, make_report(seeds=[0, 1, 2], accuracy=0.8 + (i % 10) / 100))
    reg.set_run_status(run.id, RunStatus.INCONCLUSIVE, decision={"reason": "reached --max-iterations"})
    return run.id


@pytest.fixture
def reg(tmp_path):
    with SQLiteRegistry(tmp_path / "home" / "registry.sqlite") as r:
        yield r


@pytest.fixture
def served(reg):
    run_id = fill(reg)
    port = free_port()
    with Served(create_app(reg, port=port), port) as base:
        yield base, run_id


def routes(run_id: str) -> list[str]:
    return ["/", f"/runs/{run_id}", f"/runs/{run_id}/trials/1", f"/runs/{run_id}/compare?trial=1&trial=2",
            f"/runs/{run_id}/llm", f"/runs/{run_id}/trials.csv", f"/runs/{run_id}/trials.json", "/metrics",
            "/static/style.css", "/static/pygments.css"]


def test_every_page_answers_with_the_security_headers(served):
    base, run_id = served
    for path in routes(run_id):
        answer = fetch(base + path)
        assert answer.status == 200, (path, answer.text[:300])
        csp = answer.headers["content-security-policy"]
        assert "script-src 'none'" in csp and "default-src 'none'" in csp, path
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["x-frame-options"] == "DENY"
    assert fetch(base + "/runs/run-20990101-000000-abcd").status == 404
    assert fetch(base + f"/runs/{run_id}/trials/99").status == 404


def test_the_run_page_shows_the_tree_the_chart_and_the_decision(served):
    base, run_id = served
    page = fetch(base + f"/runs/{run_id}").text
    assert "reached --max-iterations" in page and 'id="tree"' in page
    assert page.count('class="point status-ok"') == 3 and f'href="/runs/{run_id}/trials/2"' in page
    assert "<meta http-equiv" not in page  # a finished run does not refresh itself


def test_exports_hold_every_trial(served):
    base, run_id = served
    rows = list(csv.DictReader(io.StringIO(fetch(base + f"/runs/{run_id}/trials.csv").text)))
    assert [r["number"] for r in rows] == ["1", "2", "3"] and rows[0]["status"] == "ok"
    assert float(rows[1]["mean"]) == pytest.approx(0.81)
    doc = json.loads(fetch(base + f"/runs/{run_id}/trials.json").body)
    assert [d["action"] for d in doc] == ["explore", "explore", "promote"] and doc[2]["n"] == 3


def test_compare_gives_the_paired_comparison_over_common_seeds(served):
    base, run_id = served
    page = fetch(base + f"/runs/{run_id}/compare?trial=1&trial=2").text
    assert "trial 1 vs trial 2 on seeds 0, 1, 2" in page and "n=3" in page
    assert "choose two or more" in fetch(base + f"/runs/{run_id}/compare?trial=1").text


def test_metrics_are_prometheus_text_per_run(served):
    base, run_id = served
    families = {f.name: f for f in text_string_to_metric_families(fetch(base + "/metrics").text)}
    ok = [s for s in families["research_agent_trials"].samples if s.labels == {"run": run_id, "status": "ok"}]
    assert ok and ok[0].value == 3
    assert [s.value for s in families["research_agent_trials_running"].samples] == [0]
    container = next(s for s in families["research_agent_container_seconds"].samples if s.name.endswith("_total"))
    assert container.labels == {"run": run_id} and container.value == pytest.approx(3 * 2.5)


def test_no_route_writes(served, reg):
    base, run_id = served
    before = hashlib.sha256(json.dumps(reg.export_run(run_id), sort_keys=True).encode()).hexdigest()
    for path in routes(run_id):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert fetch(base + path, method=method, data=b"x=1").status == 405, (method, path)
        fetch(base + path)
    after = hashlib.sha256(json.dumps(reg.export_run(run_id), sort_keys=True).encode()).hexdigest()
    assert after == before


def test_a_foreign_host_header_is_refused_on_loopback(served):
    base, _ = served
    assert fetch(base + "/", headers={"Host": "evil.example:8600"}).status == 421  # DNS rebinding


@pytest.fixture
def gated(reg):
    run_id = fill(reg)
    port = free_port()
    with Served(create_app(reg, token=TOKEN, host="0.0.0.0", port=port), port) as base:
        yield base, run_id


def test_without_the_token_every_route_is_401(gated):
    base, run_id = gated
    for path in [*routes(run_id), "/login", "/runs/nope"]:
        answer = fetch(base + path)
        assert answer.status == 401, path
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "content-security-policy" in answer.headers
    assert fetch(base + "/", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status == 401
    for path in routes(run_id):
        assert fetch(base + path, headers={"Authorization": f"Bearer {TOKEN}"}).status == 200, path


def test_a_browser_signs_in_once_with_a_form_and_the_token_never_enters_a_url(gated):
    base, run_id = gated
    form = fetch(base + f"/runs/{run_id}", headers={"Accept": "text/html"})
    assert form.status == 401 and 'action="/login"' in form.text and f'value="/runs/{run_id}"' in form.text
    wrong = fetch(base + "/login", "POST", urllib.parse.urlencode({"token": "nope", "next": "/"}).encode())
    assert wrong.status == 401 and "set-cookie" not in wrong.headers
    body = urllib.parse.urlencode({"token": TOKEN, "next": f"/runs/{run_id}"}).encode()
    signed = fetch(base + "/login", "POST", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert signed.status == 303 and signed.headers["location"] == f"/runs/{run_id}"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and TOKEN not in cookie
    session = cookie.split(";")[0]
    assert fetch(base + f"/runs/{run_id}", headers={"Cookie": session}).status == 200
    away = fetch(base + "/login", "POST", urllib.parse.urlencode({"token": TOKEN, "next": "//evil.example/"}).encode())
    assert away.headers["location"] == "/"  # never redirected off the site


def test_a_run_of_2000_trials_gives_bounded_pages(reg, tmp_path):
    run_id = fill(reg, n_trials=2000)
    port = free_port()
    with Served(create_app(reg, port=port), port) as base:
        t0 = time.monotonic()
        first = fetch(base + f"/runs/{run_id}")
        took = time.monotonic() - t0
        last = fetch(base + f"/runs/{run_id}?page=20")
        trial = fetch(base + f"/runs/{run_id}/trials/2000")
    assert first.status == last.status == trial.status == 200
    for page in (first.text, last.text):
        assert len(re.findall(r'<tr class="trial ', page)) == 100  # one page of the table
        assert page.count('<circle class="point') == 100  # and of the chart
        assert len(re.findall(r'<li class="trial ', page)) <= 60 * 20  # the tree is bounded too
        assert len(page.encode()) < 200_000
    assert "page 1 of 20 (2000)" in first.text and 'href="?page=2"' in first.text
    assert "page 20 of 20" in last.text and ">2000</a>" in last.text
    assert took < 60  # bounded, not timed: bench/dashboard.py measures the page time


def test_the_cli_on_a_non_loopback_bind_prints_a_token_once_and_requires_it(tmp_path, reg):
    fill(reg)
    port = free_port()
    env = os.environ | {"RESEARCH_AGENT_HOME": str(reg.home)}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "dashboard", "--host", "0.0.0.0", "--port", str(port)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stderr.readline() for _ in range(2)]
        assert lines[0].startswith(f"dashboard: http://0.0.0.0:{port}/"), lines
        token = lines[1].rsplit(": ", 1)[1].strip()
        assert len(token) >= 40
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(f"http://127.0.0.1:{port}/", headers={"Authorization": f"Bearer {token}"}).status == 200:
                    break
            except OSError:  # not listening yet
                pass
            assert time.monotonic() < deadline, "the dashboard did not answer within 30 s"
            time.sleep(0.2)
        assert fetch(f"http://127.0.0.1:{port}/metrics").status == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "interrupted by SIGTERM" in err  # as every command


def test_candidates_compare_over_every_full_fidelity_seed(reg):
    run_id = fill(reg, n_trials=6)  # promotions at trials 3 (candidate c64) and 6 (c72)
    port = free_port()
    with Served(create_app(reg, port=port), port) as base:
        run_page = fetch(base + f"/runs/{run_id}").text
        page = fetch(base + f"/runs/{run_id}/compare?candidate=c64&candidate=c72").text
        lone = fetch(base + f"/runs/{run_id}/compare?candidate=c64&candidate=nope").text
    assert 'name="candidate" value="c64"' in run_page
    assert "candidate c64 vs candidate c72 on seeds 0, 1, 2" in page and "n=3" in page
    assert f'href="/runs/{run_id}/trials/6"' in page  # the candidate links to its latest trial
    assert "choose two or more" in lone  # an unknown candidate is not a column
