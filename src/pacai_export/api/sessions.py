"""Dashboard sign-in: the session cookie's value, the same-origin rule for the login form,
and the throttle on wrong tokens.

The cookie never holds the API token. It holds ``v1.<expiry>.<HMAC-SHA256(token, expiry)>``:
proof that its holder knew a configured token, valid until the expiry it carries (which the
MAC covers) and only while that token stays in ``API_TOKENS`` — removing a token signs out
every browser that signed in with it. A stolen cookie is worth a dashboard session, not the
token that enqueues jobs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.requests import Request

from .problems import Problem

SESSION_VERSION = "v1"
LOGIN_WINDOW_S = 300
LOGIN_MAX_FAILURES = 10  # wrong tokens per client address per window

_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""


def session_value(token: str, expires: int) -> str:
    mac = hmac.new(token.encode(), f"pacai-dashboard-session:{expires}".encode(),
                   hashlib.sha256).digest()
    return f"{SESSION_VERSION}.{expires}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def session_valid(value: str | None, tokens: Iterable[str], now: float) -> bool:
    """The cookie was made by ``session_value`` from one of ``tokens`` and has not expired.
    Compared against every token, without an early exit."""
    if not value:
        return False
    version, _, rest = value.partition(".")
    expires, _, _ = rest.partition(".")
    if version != SESSION_VERSION or not (expires.isascii() and expires.isdigit()):
        return False
    if int(expires) <= now:
        return False
    given = value.encode()
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given, session_value(token, int(expires)).encode())
    return ok


def require_same_origin(request: Request) -> None:
    """Refuse a form POST from another site (login CSRF: signing a victim's browser into
    the attacker's session).

    Browsers send ``Origin`` with every POST; it is ``null`` under the dashboard's
    ``Referrer-Policy: no-referrer``, and then ``Sec-Fetch-Site`` (which no page can set)
    tells. A request with neither comes from a client that is not a browser someone else
    could drive (curl, a script holding the token)."""
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin is not None and origin != "null":
        parts = urlsplit(origin)
        host = request.headers.get("host", "").lower()
        if parts.scheme in ("http", "https") and parts.netloc.lower() == host:
            return
        refused = f"Origin {origin[:100]!r}"
    elif fetch_site is not None:
        if fetch_site in ("same-origin", "none"):
            return
        refused = f"Sec-Fetch-Site {fetch_site[:40]!r}"
    elif origin is None:
        return
    else:
        refused = "Origin 'null' without Sec-Fetch-Site"
    raise Problem(403, "cross-origin", "Cross-origin request refused",
                  f"{request.method} {request.url.path}: {refused} is not this server; "
                  "sign in from the dashboard's own page")


class LoginThrottle:
    """Counts wrong tokens per client address in Redis (shared by every API process);
    past ``LOGIN_MAX_FAILURES`` in ``LOGIN_WINDOW_S``, sign-in from there waits."""

    def __init__(self, redis: Redis | RedisCluster, prefix: str, queue: str) -> None:
        self.redis = redis
        self.base = f"{prefix}:{queue}:api:login-failures"
        self._count = redis.register_script(_COUNT_FAILURE)

    def key(self, client: str) -> str:
        return f"{self.base}:{client}"

    async def wait_seconds(self, client: str) -> int:
        """0 when ``client`` may try a token, else the seconds until it may."""
        count = await self.redis.get(self.key(client))
        if count is None or int(count) < LOGIN_MAX_FAILURES:
            return 0
        return max(1, int(await self.redis.ttl(self.key(client))))

    async def failed(self, client: str) -> None:
        await self._count(keys=[self.key(client)], args=[LOGIN_WINDOW_S])
