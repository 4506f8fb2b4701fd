"""The HTTP client side both targets share (aiohttp, already a dependency through Faust)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import aiohttp

from schemas.errors import SentinelError
from streams.metrics import build_version

USER_AGENT = f"touchpoint-sentinel/{build_version()}"


def checked_url(url: str) -> str:
    """An http(s) URL with a host, or a SentinelError (exit code 2) that says what is wrong with it."""
    try:
        parsed = urlsplit(url)
        host = parsed.hostname
    except ValueError as error:
        raise SentinelError(f"--url: not a URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise SentinelError(f"--url must be an http:// or https:// URL with a host, got {shown_url(url)!r}")
    return url


def shown_url(url: str) -> str:
    """The URL without user, password or query (they may hold credentials), for logs and messages."""
    try:
        parts = urlsplit(url)
        where = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "(not a URL)"
    return urlunsplit((parts.scheme, where, parts.path, "", ""))


def describe_http_error(error: BaseException) -> str:
    """A failed request in a few words: no answer in time, or the client error's class and message."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def new_session() -> aiohttp.ClientSession:
    """One session per process: its connection pool is reused by every request."""
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, raise_for_status=False)
