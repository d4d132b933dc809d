"""Cross-origin rules: the configured origins may post, the page's own origin may, no one else.

There is no ``*``: a page on another site could otherwise post feedback with tokens it found.
Requests without an ``Origin`` header (servers, ``curl``) are not browser cross-site requests
and pass; a browser always sends ``Origin`` on a cross-origin ``POST``, including the
``text/plain`` beacons that need no preflight, so those are checked here too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = frozenset({"content-type"})
PREFLIGHT_MAX_AGE = "600"


def same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` names the host the request was sent to (the ``Host`` header)."""
    if not host:
        return False
    return urlsplit(origin).netloc.lower() == host.strip().lower()


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request with this ``Origin`` may post feedback."""
    if origin is None:
        return True
    return origin.lower() in allowed or same_origin(origin, host)


def response_headers(origin: str | None, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """Headers that let a listed cross-origin page read the answer."""
    if origin is not None and origin.lower() in allowed:
        return [("access-control-allow-origin", origin), ("vary", "Origin")]
    return [("vary", "Origin")]


def preflight_refusal(
    origin: str | None,
    host: str | None,
    method: str | None,
    headers: str | None,
    allowed: frozenset[str],
) -> str | None:
    """Why a preflight (``OPTIONS``) must be refused, or ``None`` if it may proceed."""
    if not origin_allowed(origin, host, allowed):
        return f"origin {origin[:100]!r} is not allowed to post feedback" if origin else None
    if method is not None and method.upper() != "POST":
        return f"method {method[:20]!r} is not allowed; only POST"
    asked = {part.strip().lower() for part in (headers or "").split(",") if part.strip()}
    extra = asked - ALLOWED_HEADERS
    if extra:
        return f"request headers {sorted(extra)[:5]!r} are not allowed; only Content-Type"
    return None


def preflight_headers(origin: str | None) -> list[tuple[str, str]]:
    """Headers of an accepted preflight."""
    headers = [
        ("allow", ALLOWED_METHODS),
        ("access-control-allow-methods", ALLOWED_METHODS),
        ("access-control-allow-headers", "Content-Type"),
        ("access-control-max-age", PREFLIGHT_MAX_AGE),
        ("vary", "Origin"),
    ]
    if origin is not None:
        headers.insert(0, ("access-control-allow-origin", origin))
    return headers
