"""Guarded fetching of remote assets and manifests over HTTP(S) (§10.2, §13).

Every connection goes through ``GuardedBackend``: the host is resolved here, every address it
resolves to is checked, and the socket is opened to a checked address — so neither DNS
rebinding nor a redirect can reach loopback, private, link-local or cloud metadata
addresses. Hosts in ``ASSET_HTTP_ALLOWLIST`` are explicitly allowed: plain ``http://`` and
any address. Redirects are followed by hand (at most ``max_redirects``), each hop checked
again. Bodies stream to disk under the size limits; timeouts bound the connect and the whole
transfer. Permanent failures raise ``InvalidInput``; transient ones are retried with backoff,
then raise ``TransientError`` (BullMQ retries the job).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .. import __version__
from ..errors import InvalidInput, LimitExceeded, SourceNotFound, TransientError

PERMANENT_STATUSES = {400, 401, 403, 404, 405, 406, 410, 414, 451}
REDIRECTS = {301, 302, 303, 307, 308}
# Bytes read at a time from a download: the most a body can pass its limit by before it is
# refused.
DOWNLOAD_PIECE = 1 << 20


class BlockedAddress(httpcore.ConnectError):
    """The host resolved to an address assets may not be fetched from."""


@dataclasses.dataclass(frozen=True)
class FetchPolicy:
    allowlist: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    total_timeout: float = 60.0
    max_redirects: int = 3
    retries: int = 3
    backoff: float = 0.5

    def allowed_host(self, host: str) -> bool:
        return host.lower().strip("[]") in {h.lower().strip("[]") for h in self.allowlist}


# IPv6 prefixes that carry an IPv4 address a gateway may forward to (RFC 6052 NAT64, RFC
# 3056 6to4, the deprecated IPv4-compatible form, RFC 7915 IPv4-translated): the embedded
# address is what the packet may reach, so it is checked like a plain IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use: never a public route
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries, or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_TRANSLATED or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused_reason(address: str) -> str | None:
    """Why ``address`` is off limits, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = _address_class(inner)
            return f"an IPv6 form of {inner}, {reason}" if reason else None
    return _address_class(ip)


def _address_class(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip.is_unspecified:
        return "the unspecified address (it reaches this host)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_reserved:
        return "not a public address"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (TLS still verifies the name)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int,
                          timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        addresses = sorted({str(info[4][0]) for info in infos})
        if not self._policy.allowed_host(host):
            for address in addresses:
                reason = refused_reason(address)
                if reason:
                    raise BlockedAddress(f"{host} resolves to {address}, {reason}")
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout,
                                             local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str,
                                  timeout: float | None = None,  # noqa: ASYNC109 (httpcore's)
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not fetched from")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection passes ``GuardedBackend``."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(), max_connections=16,
            network_backend=GuardedBackend(policy))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        try:
            resp = await self._pool.handle_async_request(req)
        except BlockedAddress as exc:
            raise _Blocked(str(exc)) from exc
        except httpcore.ConnectError as exc:
            raise _Broken(str(exc) if "cannot resolve" in str(exc) else "could not connect",
                          request=request) from exc
        except Exception as exc:
            raise _translate(exc, request, "answering") from exc
        return httpx.Response(status_code=resp.status, headers=resp.headers,
                              stream=_Stream(resp, request), extensions=resp.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Blocked(httpx.TransportError):
    pass


class _Broken(httpx.TransportError):
    """The connection failed or broke: another attempt may succeed. The message is ours,
    never the HTTP library's (it says nothing useful to a user and may change)."""


class _NotHttp(httpx.TransportError):
    """The server's answer is not HTTP: retrying the same server will not change that."""


def _translate(exc: BaseException, request: httpx.Request, when: str) -> Exception:
    """httpcore's errors as the fetch's own, classified (``when``: answering or the body)."""
    if isinstance(exc, httpcore.TimeoutException):
        return httpx.TimeoutException("timed out", request=request)
    if isinstance(exc, httpcore.RemoteProtocolError):
        # h11 says "Server disconnected" or "peer closed connection" when the peer closed
        # early; anything else it raises here is a malformed status line, header or chunk.
        if any(text in str(exc) for text in ("disconnected", "peer closed", "incomplete")):
            what = ("before the whole body arrived" if when == "body"
                    else "without answering")
            return _Broken(f"the server closed the connection {what}", request=request)
        return _NotHttp("the server's answer is not valid HTTP", request=request)
    if isinstance(exc, httpcore.NetworkError | OSError):
        return _Broken(f"the connection broke while the server was {when}"
                       if when == "answering" else "the connection broke during the body",
                       request=request)
    if isinstance(exc, httpcore.ProtocolError):
        return _NotHttp("the server's answer is not valid HTTP", request=request)
    return _Broken("the transfer failed", request=request)


class _Stream(httpx.AsyncByteStream):
    def __init__(self, resp: httpcore.Response, request: httpx.Request) -> None:
        self._resp = resp
        self._request = request

    async def __aiter__(self) -> Any:
        try:
            async for chunk in self._resp.aiter_stream():
                yield chunk
        except (httpcore.TimeoutException, httpcore.NetworkError,
                httpcore.ProtocolError) as exc:
            raise _translate(exc, self._request, "body") from exc

    async def aclose(self) -> None:
        await self._resp.aclose()


@dataclasses.dataclass(frozen=True)
class Fetched:
    path: Path
    bytes: int
    sha256: str
    # True when ``path`` is the project's own file, read where it lies rather than copied
    # into the job's folder (a relative URI under PROJECTS_DIR).
    in_place: bool = False


class Fetcher:
    """Fetches URLs to files under the policy; one per job (it counts the job's bytes)."""

    def __init__(self, policy: FetchPolicy, asset_bytes: int, job_bytes: int,
                 client: httpx.AsyncClient | None = None) -> None:
        self.policy = policy
        self.asset_bytes = asset_bytes
        self.job_bytes = job_bytes
        self.fetched_bytes = 0
        self._given = client
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """Made on first use: a job whose assets are all on disk never pays for the TLS
        context (CA bundle parsing: milliseconds and megabytes)."""
        if self._client is None:
            policy = self.policy
            self._client = self._given or httpx.AsyncClient(
                transport=GuardedTransport(policy), follow_redirects=False,
                timeout=httpx.Timeout(policy.total_timeout, connect=policy.connect_timeout),
                headers={"user-agent": f"pacai-export/{__version__}",
                         "accept-encoding": "identity"})  # as stored: no transparent gunzip
        return self._client

    async def fetch(self, url: str, dest: Path) -> Fetched:
        """Fetch ``url`` to ``dest`` with retries. Errors say what went wrong; the caller's
        boundary (``location.located``) says for which asset."""
        for attempt in range(self.policy.retries + 1):
            try:
                async with asyncio.timeout(self.policy.total_timeout):
                    return await self._follow(url, dest)
            except (TransientError, httpx.TransportError, TimeoutError) as exc:
                if isinstance(exc, _Blocked):
                    raise InvalidInput(f"refused: {exc}") from None
                if isinstance(exc, _NotHttp | httpx.ProtocolError):
                    # httpx raises its own for a redirect whose Location is not a URL.
                    raise InvalidInput("the server's answer is not valid HTTP"
                                       ) from None
                if attempt == self.policy.retries:
                    what = str(exc) if isinstance(exc, TransientError) else _describe(exc)
                    raise TransientError(f"{what}, after {attempt + 1} attempts") from exc
                await asyncio.sleep(self.policy.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    async def _follow(self, url: str, dest: Path) -> Fetched:
        for _ in range(self.policy.max_redirects + 1):
            self._check_url(url)
            async with self.client.stream("GET", url) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                self._check_status(response.status_code)
                return await self._save(response, dest)
        raise InvalidInput(f"more than {self.policy.max_redirects} redirects")

    def _check_url(self, url: str) -> None:
        try:
            httpx.URL(url)
        except httpx.InvalidURL:
            raise InvalidInput(f"not a valid URL: {url[:200]!r}") from None
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" or (parts.scheme == "http" and
                                       self.policy.allowed_host(host)):
            return
        if parts.scheme == "http":
            raise InvalidInput(f"http:// is only fetched from ASSET_HTTP_ALLOWLIST "
                               f"hosts, not {host!r}")
        raise InvalidInput(f"cannot fetch a {parts.scheme or 'relative'} URL: {url}")

    @staticmethod
    def _check_status(status: int) -> None:
        if 200 <= status < 300:
            return
        message = f"the server answered HTTP {status}"
        if status in (404, 410):
            raise SourceNotFound(message, status=status)
        if status in PERMANENT_STATUSES or (400 <= status < 500 and status != 429):
            raise InvalidInput(message, status=status)
        raise TransientError(message, status=status)

    async def _save(self, response: httpx.Response, dest: Path) -> Fetched:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.asset_bytes:
            raise LimitExceeded(f"{declared} bytes exceed the limit of "
                                f"{self.asset_bytes}")
        digest, size = hashlib.sha256(), 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with dest.open("wb") as out:
                async for chunk in response.aiter_raw(DOWNLOAD_PIECE):
                    size += len(chunk)
                    # Counted as it arrives: concurrent fetches of one job see each other's
                    # bytes, so together they cannot pass the job's limit.
                    self.fetched_bytes += len(chunk)
                    if size > self.asset_bytes:
                        raise LimitExceeded(f"more than {self.asset_bytes} bytes "
                                            "(the per-asset limit)")
                    if self.fetched_bytes > self.job_bytes:
                        raise LimitExceeded(f"the job's assets exceed "
                                            f"{self.job_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
        except BaseException:
            self.fetched_bytes -= size  # a retry counts its bytes again
            raise
        return Fetched(path=dest, bytes=size, sha256=digest.hexdigest())

    async def aclose(self) -> None:
        client = self._client or self._given
        if client is not None:
            await client.aclose()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, _Broken):
        return str(exc)
    # Raised by httpx itself (e.g. a malformed URL from a redirect): the class says enough.
    return f"the transfer failed ({type(exc).__name__})"
