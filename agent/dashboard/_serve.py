"""Serving the dashboard with uvicorn: the registry opened once, the token printed once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ._app import create_app
from ._auth import LOOPBACK, load_token

__all__ = ["serve"]


def serve(home: Path, host: str, port: int, token_file: Path | None, say: Callable[[str], None]) -> None:
    """Serve until Ctrl-C. ``say`` prints the lines a user needs (where, and the token if generated)."""
    import uvicorn

    from ..registry import open_registry

    token, generated = load_token(host, token_file)
    with open_registry(home) as registry:
        app = create_app(registry, token=token, host=host, port=port)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off", server_header=False)
        server = uvicorn.Server(config)
        shown = f"[{host}]" if ":" in host else host
        say(f"dashboard: http://{shown}:{port}/ over {home} (read-only; Ctrl-C stops it)")
        if generated:
            say(f"token (shown once; sign in with it, or send `Authorization: Bearer TOKEN`): {token}")
        elif token is None and host not in LOOPBACK:  # load_token never leaves this case open
            raise UsageError("a bind other than loopback needs a token")
        server.run()
        if not server.started:
            raise UsageError(f"cannot listen on {host}:{port} (in use, or not an address of this machine); "
                             "choose another --port or --host")
