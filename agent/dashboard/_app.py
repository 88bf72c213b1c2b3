"""The dashboard's web application: read-only pages over the registry, behind a gate.

Every response carries a Content-Security-Policy without scripts (pages are server-rendered; a
running run refreshes itself with ``<meta http-equiv=refresh>``), every string is escaped by the
templates, and no route writes: the only POST is the sign-in form, which sets a cookie.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import RegistryError
from . import _charts, _views
from ._auth import COOKIE, LOOPBACK, Gate
from ._metrics import exposition
from ._pages import render, source_html
from ._reader import Reader

__all__ = ["SECURITY_HEADERS", "create_app"]

# No script may run (there is none), nothing may be framed or load from elsewhere: the page shows
# text that models and LLMs wrote.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY", "cache-control": "no-store"}
REFRESH_S = 5  # how often a page of a running run reloads itself
MAX_FORM_BYTES = 4096  # the sign-in form is a token and a path


def create_app(registry, token: str | None = None, host: str = "127.0.0.1", port: int = 8600) -> Starlette:
    gate = Gate(token)
    registry = Reader(registry)
    loopback_hosts = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")} if host in LOOPBACK else None

    def page(request: Request, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        return HTMLResponse(render(name, refresh=REFRESH_S if ctx.get("live") else None, **ctx),
                            status_code=status_code)

    def runs(request: Request):
        q = request.query_params
        return page(request, "runs.html", **_views.runs_view(registry, q.get("status", ""), q.get("dataset", ""),
                                                            _int(q.get("page"), 1)))

    def run(request: Request):
        page_no = _int(request.query_params.get("page"), 1)
        return page(request, "run.html", **_views.run_view(registry, request.path_params["run_id"], page_no))

    def trial(request: Request):
        view = _views.trial_view(registry, request.path_params["run_id"], request.path_params["number"])
        if view is None:
            return page(request, "error.html", 404, message="no such trial in this run")
        view["source"] = source_html(view["trial"].source or "")
        view["curves_svg"] = Markup(_charts.learning_curves_svg(view["curves"], title="loss per epoch"))
        view["acc_svg"] = Markup(_charts.learning_curves_svg(view["curves"], keys=("train_acc", "val_acc"),
                                                             title="accuracy per epoch"))
        return page(request, "trial.html", **view)

    def compare(request: Request):
        q = request.query_params
        numbers = [n for n in (_int(v, 0) for v in q.getlist("trial")) if n > 0]
        view = _views.compare_view(registry, request.path_params["run_id"], numbers, q.getlist("candidate"))
        return page(request, "compare.html", **view)

    def llm(request: Request):
        rid = request.path_params["run_id"]
        return page(request, "llm.html", run=registry.get_run(rid), calls=registry.list_llm_calls(rid))

    def trials_csv(request: Request):
        rows = _views.trial_rows(registry.snapshot(request.path_params["run_id"]))
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=_download("trials.csv"))

    def trials_json(request: Request):
        rows = _views.trial_rows(registry.snapshot(request.path_params["run_id"]))
        return JSONResponse(rows, headers=_download("trials.json"))

    def metrics(request: Request):
        body, kind = exposition(registry)
        return Response(body, media_type=kind)

    async def login(request: Request):
        body = await request.body()
        form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
        target = _safe_next(form.get("next") or "/")
        if not gate.signs_in(form.get("token") or ""):
            return page(request, "login.html", 401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, gate.session, httponly=True, samesite="strict", path="/")
        return response

    routes = [
        Route("/", runs), Route("/runs/{run_id}", run), Route("/runs/{run_id}/trials/{number:int}", trial),
        Route("/runs/{run_id}/compare", compare), Route("/runs/{run_id}/llm", llm),
        Route("/runs/{run_id}/trials.csv", trials_csv), Route("/runs/{run_id}/trials.json", trials_json),
        Route("/metrics", metrics), Route("/login", login, methods=["POST"]),
        Route("/static/{name}", _static),
    ]
    app = Starlette(routes=routes, exception_handlers={RegistryError: _not_found})
    return _Guard(app, gate, loopback_hosts)


class _Guard:
    """ASGI wrapper: the Host check (loopback binds), the token gate, the security headers."""

    def __init__(self, app, gate: Gate, hosts: set[str] | None):
        self.app, self.gate, self.hosts = app, gate, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
            await send(message)

        request = Request(scope)
        if self.hosts is not None and request.headers.get("host") not in self.hosts:
            # a page elsewhere that rebinds its name to 127.0.0.1 must not read the dashboard
            return await PlainTextResponse("unknown host", 421)(scope, receive, send_secured)
        signing_in = scope["path"] == "/login" and scope["method"] == "POST"
        if not signing_in and not self.gate.allows(request.headers, request.cookies):
            return await _unauthorized(request)(scope, receive, send_secured)
        return await self.app(scope, receive, send_secured)


def _unauthorized(request: Request) -> Response:
    headers = {"www-authenticate": 'Bearer realm="research-agent"'}
    if "text/html" in request.headers.get("accept", ""):
        target = _safe_next(request.url.path)
        return HTMLResponse(render("login.html", next=target, failed=False, refresh=None), 401, headers=headers)
    return PlainTextResponse("401: send Authorization: Bearer TOKEN", 401, headers=headers)


async def _static(request: Request):
    from ._pages import static_file

    found = static_file(request.path_params["name"])
    if found is None:
        return PlainTextResponse("not found", 404)
    body, kind = found
    return Response(body, media_type=kind)


async def _not_found(request: Request, exc: RegistryError):
    return HTMLResponse(render("error.html", message=str(exc), refresh=None), 404)


def _safe_next(path: str) -> str:
    """Only a path of this site (never ``//host`` or a scheme): the sign-in never redirects away."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _cell(v):
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading '."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _download(name: str) -> dict:
    return {"content-disposition": f'attachment; filename="{name}"'}

