"""``research-agent dashboard``: a read-only web application over the registry.

``create_app(registry, token, host, port)`` is the ASGI app (Starlette, server-rendered pages,
charts as inline SVG, no scripts); ``serve`` runs it with uvicorn until interrupted. The app reads
the registry through its API only.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "._app": ["create_app", "SECURITY_HEADERS"],
    "._auth": ["load_token"],
    "._report_page": ["report_html"],
    "._serve": ["serve"],
})
