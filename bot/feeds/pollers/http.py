"""One shared httpx client for every poller, turning HTTP faults into classified `PollError`s.

Secrets travel in query strings on some platforms (Weibo's access_token), and httpx logs every request
URL at INFO: its loggers are raised to WARNING here and never receive a URL from us. Error details carry
the status and the exception type only, never the URL (a refused redirect names its target without the
query string).

An answer is read up to MAX_ANSWER_BYTES (decompressed): a platform or proxy that sends an endless or
huge body (or a compression bomb) costs a TRANSIENT failure, not the bot's memory. A body nested past
the JSON parser's depth is "not JSON" like any other malformed one, not an internal error. One still
arriving ANSWER_TIME_FACTOR times the source's timeout after the request (trickled) fails as a timeout.

Redirects are followed only within the same site (scheme, host and port; or http to https on the same
host): credentials travel in custom headers (Douyin's `access-token`, generic_json `headers`), query
strings and cookies, and httpx strips only `Authorization` when a redirect leaves the origin. A redirect
to another site is a CONFIG error naming its target: point the source's `base_url` there if it is right.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.feeds.pollers.base import CONFIG, RATE_LIMITED, RISK_CONTROL, TRANSIENT, PollError, parse_retry_after

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

#: same-site redirects followed for one request
MAX_REDIRECTS = 5
#: the largest answer read (after decompression). A page of comments or a feed is well under a few MB;
#: one of 32 MiB is no page any platform sends, and reading it whole could exhaust the memory.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: the whole answer must arrive within this many times the source's `timeout`: httpx's timeout bounds each
#: read, so a server (or proxy) that trickles a byte every few seconds kept a poll, and the source's lease,
#: going for as long as it liked, the source looking healthy all the while
ANSWER_TIME_FACTOR = 4
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_site(origin: httpx.URL, target: httpx.URL) -> bool:
    """Whether a redirect from `origin` to `target` may carry the request's credentials: the same scheme,
    host and port, or an upgrade from http to https on the same host (default ports)."""
    if origin.host != target.host:
        return False
    if origin.scheme == target.scheme:
        return (origin.port or _DEFAULT_PORTS.get(origin.scheme)) == (target.port or _DEFAULT_PORTS.get(target.scheme))
    return origin.scheme == "http" and target.scheme == "https" and origin.port in (None, 80) and target.port in (None, 443)


def _shown(url: httpx.URL) -> str:
    """A URL as it may be logged: no query string or fragment (signed parameters, tokens), no user info."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


@dataclass
class HttpAnswer:
    status: int
    body: Any  # parsed JSON, or None when `raw` is asked for
    raw: bytes
    headers: httpx.Headers


class PoliteHttp:
    """Sends requests and classifies failures; retries are the service's job (backoff between polls)."""

    def __init__(self, client: httpx.Client, now: Callable[[], datetime]):
        self.client = client
        self.now = now

    @classmethod
    def create(
        cls, *, user_agent: str, max_connections: int, now: Callable[[], datetime], proxy: str | None = None
    ) -> PoliteHttp:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        client = httpx.Client(
            headers={"User-Agent": user_agent},
            limits=limits,
            follow_redirects=False,  # see `_follow`: only within the same site
            proxy=proxy,
            trust_env=False,  # proxies come from `feeds.proxy` (or a base_url), never implicitly from env
        )
        return cls(client, now)

    def close(self) -> None:
        self.client.close()

    def _follow(self, response: httpx.Response) -> httpx.Response:
        """Follow same-site redirects (headers and cookies kept); refuse one to another site (CONFIG)."""
        for _ in range(MAX_REDIRECTS):
            target = response.next_request if response.has_redirect_location else None
            if target is None:
                return response
            status, origin = response.status_code, response.request.url
            response.close()
            if not _same_site(origin, target.url):
                shown = _shown(target.url)
                raise PollError(
                    CONFIG,
                    f"服务器把请求重定向到另一个站点（HTTP {status} → {shown}），为免凭据外泄未跟随：如新地址正确，"
                    f"请把数据源的 base_url 改为它 / the server redirected to another site (HTTP {status} -> "
                    f"{shown}); not followed, so no credential leaves for it: if that address is right, set "
                    f"the source's base_url to it",
                    code=status,
                )
            cookie = response.request.headers.get("Cookie")
            if cookie and "Cookie" not in target.headers:  # httpx drops a request's own cookies on redirect
                target.headers["Cookie"] = cookie
            response = self.client.send(target, follow_redirects=False, stream=True)
        response.close()
        raise PollError(TRANSIENT, f"more than {MAX_REDIRECTS} redirects", code=response.status_code)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
        json_body: Any = None,
        cookies: dict[str, str] | None = None,
        timeout: float = 15.0,
        expect_json: bool = True,
        accept_statuses: tuple[int, ...] = (),
        raw_statuses: tuple[int, ...] = (),
    ) -> HttpAnswer:
        """One request. 429 -> RATE_LIMITED, 412 -> RISK_CONTROL, 5xx/timeouts/network -> TRANSIENT.

        Other 4xx statuses are returned when listed in `accept_statuses` (platforms that explain the
        error in a JSON body), else raised as TRANSIENT with the status. Statuses in `raw_statuses` are
        returned with the raw body only (`body` None): a refusal such as 401 often answers in HTML or
        plain text, and the caller classifies it from the status and the text."""
        try:
            outgoing = self.client.build_request(
                method, url, params=params, headers=headers, data=data, json=json_body, cookies=cookies,
                timeout=timeout,
            )
            deadline = time.monotonic() + ANSWER_TIME_FACTOR * timeout
            # streamed, so that the body is read only up to MAX_ANSWER_BYTES (see _read_capped)
            response = self._follow(self.client.send(outgoing, follow_redirects=False, stream=True))
            try:
                raw = _read_capped(response, deadline, ANSWER_TIME_FACTOR * timeout)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise PollError(TRANSIENT, f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise PollError(TRANSIENT, f"network error ({type(exc).__name__})") from None
        except httpx.DecodingError as exc:  # a Content-Encoding the body does not match
            raise PollError(TRANSIENT, f"HTTP {response.status_code}: undecodable body ({type(exc).__name__})") from None
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.now())
        if status == 429:
            raise PollError(RATE_LIMITED, "HTTP 429 too many requests", retry_after=retry_after, code=429)
        if status == 412:
            raise PollError(RISK_CONTROL, "HTTP 412 risk control", retry_after=retry_after, code=412)
        if status >= 500:
            raise PollError(TRANSIENT, f"HTTP {status}", retry_after=retry_after, code=status)
        if status >= 400 and status not in accept_statuses and status not in raw_statuses:
            raise PollError(TRANSIENT, f"HTTP {status}", retry_after=retry_after, code=status)
        if status in raw_statuses:
            return HttpAnswer(status=status, body=None, raw=raw, headers=response.headers)
        body = None
        if expect_json:
            try:
                body = json.loads(raw) if raw else None
            except UnicodeDecodeError:
                # JSON is UTF-8, but Chinese vendor and crawler exports often answer in GBK/GB18030
                # (usually saying so in Content-Type): read it in that charset rather than fail every poll
                body = _json_in_chinese_charset(raw, response.charset_encoding, status)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
                raise PollError(TRANSIENT, f"HTTP {status}: the body is not JSON") from None
        return HttpAnswer(status=status, body=body, raw=raw, headers=response.headers)


def _read_capped(response: httpx.Response, deadline: float, allowed: float) -> bytes:
    """The (decompressed) body of a streamed response; PollError once it grows past MAX_ANSWER_BYTES, or
    when it is still arriving at `deadline` (time.monotonic(); `allowed` seconds after the request)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _too_large(response.status_code)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise _too_large(response.status_code)
        if time.monotonic() > deadline:
            raise PollError(TRANSIENT, f"timeout (HTTP {response.status_code}: the answer was still arriving after "
                                       f"{allowed:g} s)", code=response.status_code)
    return bytes(body)


def _too_large(status: int) -> PollError:
    return PollError(TRANSIENT, f"HTTP {status}: the answer is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB; "
                                "not read", code=status)


def _json_in_chinese_charset(raw: bytes, declared: str | None, status: int) -> Any:
    """A JSON body that is not UTF-8, read in its declared charset, else GB18030 (a superset of GBK)."""
    for encoding in dict.fromkeys(e for e in (declared, "gb18030") if e):
        try:
            return json.loads(raw.decode(encoding))
        except (LookupError, ValueError, RecursionError):
            continue
    raise PollError(TRANSIENT, f"HTTP {status}: the body is not JSON (not UTF-8 or GB18030 text)")
