"""Who may read the dashboard: loopback alone, or anyone holding the token.

A bind other than loopback needs a token (``--token-file``, else one generated and printed once).
Every request then carries it: ``Authorization: Bearer`` from scripts and Prometheus, or the
session cookie a browser gets from the sign-in form (HttpOnly, SameSite=Strict). The token never
goes into a URL; the cookie holds a value derived from it, not the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from ..errors import UsageError

__all__ = ["COOKIE", "LOOPBACK", "Gate", "load_token"]

COOKIE = "ra_session"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# A generated token: 32 random bytes, URL-safe text (256 bits: not guessable over HTTP).
TOKEN_BYTES = 32
MIN_TOKEN_CHARS = 16  # a --token-file shorter than this is refused: it could be guessed


def load_token(host: str, token_file: Path | None) -> tuple[str | None, bool]:
    """``(token, generated)``: None on loopback without a file; a file's token, or a new one."""
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise UsageError(f"cannot read --token-file {token_file} ({exc.strerror or exc})") from None
        if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
            raise UsageError(f"--token-file {token_file}: the token must be one word of at least "
                             f"{MIN_TOKEN_CHARS} characters")
        return token, False
    if host in LOOPBACK:
        return None, False
    return secrets.token_urlsafe(TOKEN_BYTES), True


class Gate:
    """Checks one request's credentials against the token (constant-time)."""

    def __init__(self, token: str | None):
        self.token = token
        self.session = hmac.new(token.encode(), b"dashboard-session", hashlib.sha256).hexdigest() if token else None

    @property
    def open(self) -> bool:
        return self.token is None

    def allows(self, headers, cookies) -> bool:
        if self.token is None:
            return True
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True
        cookie = cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())

    def signs_in(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.strip().encode(), self.token.encode())
