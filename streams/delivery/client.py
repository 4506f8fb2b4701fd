"""The HTTP client side both targets share (aiohttp, already a dependency through Faust)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Answer:
    """What one POST gave: the target's status and body, or why there was no answer (`status` None)."""

    status: int | None
    text: str = ""
    problem: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def described(self, limit: int) -> str:
        """For logs and dead-letter reasons: the status with at most `limit` characters of the body."""
        return self.problem if self.status is None else f"HTTP {self.status}: {self.text[:limit]}"


async def post_once(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    within: aiohttp.ClientTimeout,
) -> Answer:
    """One POST, never following a redirect (it would resend the body elsewhere); a failure to get
    an answer is an `Answer` too, so each target decides alone what to try again."""
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=within, allow_redirects=False
        ) as response:
            return Answer(response.status, (await response.text(errors="replace")).strip())
    except (aiohttp.ClientError, TimeoutError) as error:
        return Answer(None, problem=describe_http_error(error))


def new_session() -> aiohttp.ClientSession:
    """One session per process: its connection pool is reused by every request."""
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, raise_for_status=False)
