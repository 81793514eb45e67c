"""PTB's HTTP layer on aiohttp: one ``ClientSession`` per request object, a bounded pool.

Why not PTB's default ``HTTPXRequest``: at 1000 messages/s the httpx + httpcore request path
was the largest share of the bot's CPU (bench/README.md, "Broadcast"): httpcore walks every
pooled connection on each request and response (``has_expired`` → a ``select`` and a
``getpeername`` per socket), and each request passes through several layers of model objects.
aiohttp's connector hands out a keep-alive connection in O(1), and its HTTP parser and writer
are C extensions.

What stays as with ``HTTPXRequest`` (so the rest of the bot sees no difference):

* what is sent: PTB's parameters, PTB's ``User-Agent``; uploads as ``multipart/form-data``
  with PTB's JSON-encoded values and file names written as httpx writes them;
* the four timeouts and their defaults (read/write/connect 5 s, pool 1 s, media write 20 s),
  per-call overrides included, ``None`` meaning "no limit";
* the errors: a pool wait that runs out is ``TimedOut`` with PTB's "Pool timeout" message and
  the request is not sent, every other timeout is ``TimedOut``, every other transport error
  ``NetworkError("aiohttp.<Class>: …")``; status codes are left to ``BaseRequest``
  (``RetryAfter``, ``Forbidden``, ``ChatMigrated``, ``BadRequest`` …);
* proxies from ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` (read once, as httpx
  does) and certificates checked against certifi's bundle.

One thing differs on the wire: requests without files go as an ``application/json`` body
(``RequestData.parameters``, already JSON-ready: objects as dicts, dates as timestamps), one
of the encodings the Bot API documents, instead of ``x-www-form-urlencoded``, whose
``urlencode`` percent-encodes the text byte by byte in Python (≈ 45 µs for a typical push on
the bench machine, ``json.dumps`` ≈ 7 µs).

The bot token is part of every Bot API URL, and some aiohttp exceptions quote the URL
("Connection timeout to host https://…/bot<token>/sendMessage"). So no aiohttp exception is
chained to the error raised here (``from None``: a logged traceback cannot show it), and the
text copied into the message has the URL, its path and any known secret replaced.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import ssl
import urllib.request
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import certifi
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

log = logging.getLogger("tickerbot.telegram_http")

REDACTED: Final = "[REDACTED]"
POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
# aiohttp's StreamWriter only waits for the socket (``drain``) once its buffer holds more than
# 64 KiB; below that a write never suspends, so a write timeout could not fire anyway (nor does
# httpx's for a send() that fits the socket buffer) and is not armed.
_WRITE_NEVER_WAITS: Final = 2**16
_JSON: Final = "application/json"


class _WriteDeadline(Payload):
    """Wraps a request body so that writing it must finish within ``seconds``.

    aiohttp writes the body in a task of its own and starts the read timeout only after it;
    a ``TimeoutError`` raised here fails the request as a timeout (``TimedOut`` below).
    """

    def __init__(self, inner: Payload, seconds: float | None) -> None:
        super().__init__(inner, headers=inner.headers)
        self._inner = inner
        self._seconds = seconds
        self._size = inner.size

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._inner.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        async with asyncio.timeout(self._seconds):
            await self._inner.write(writer)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        async with asyncio.timeout(self._seconds):
            await self._inner.write_with_length(writer, content_length)

    async def close(self) -> None:
        await self._inner.close()


class AiohttpRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`.

    Args:
        connection_pool_size: requests (and so connections) at most in flight at once; more
            wait up to the pool timeout for a free slot (PTB's default 256).
        read_timeout, write_timeout, connect_timeout, pool_timeout, media_write_timeout: as
            for PTB's ``HTTPXRequest``; ``None`` waits without limit.
        secrets: strings (the bot token) never to let into an error message.
    """

    __slots__ = (
        "_connect_timeout",
        "_json_headers",
        "_media_write_timeout",
        "_plain_headers",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_proxy_cache",
        "_read_timeout",
        "_secrets",
        "_session",
        "_slots",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._secrets = tuple(s for s in secrets if s)
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._plain_headers = {"User-Agent": self.USER_AGENT}
        self._json_headers = {"User-Agent": self.USER_AGENT, "Content-Type": _JSON}
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._proxies: dict[str, str] = {}
        self._proxy_cache: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds the long-polling time to it for getUpdates)."""
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is not None and not self._session.closed:
            return
        self._proxies = _env_proxies()
        self._proxy_cache.clear()
        self._slots = asyncio.Semaphore(self._pool_size)  # bound to this event loop
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=0, ssl=_tls_context()
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(),
            raise_for_status=False,
        )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout

        body: bytes | Payload | None = None
        headers = self._plain_headers
        if request_data is not None and files:
            # File names as httpx (and browsers) write them: UTF-8, only quotes and control
            # characters escaped; aiohttp would otherwise percent-encode them, and Telegram
            # would show "gr%C3%BC%C3%9Fe.txt" for "grüße.txt".
            form = aiohttp.FormData(
                request_data.json_parameters, quote_fields=False, default_to_multipart=True
            )
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                form.add_field(
                    name, content, filename=_html5_escape(filename), content_type=mimetype
                )
            body = _WriteDeadline(form(), write_timeout)  # its type carries the boundary
        elif request_data is not None:
            headers = self._json_headers
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            if len(body) > _WRITE_NEVER_WAITS:
                body = _WriteDeadline(aiohttp.BytesPayload(body, content_type=_JSON), write_timeout)

        timeout = self._timeouts.get((read_timeout, connect_timeout))
        if timeout is None:
            # ``connect`` bounds DNS, TCP and TLS together, ``sock_connect`` each TCP attempt;
            # the pool wait is not part of it (the slots below do that). ``sock_read`` starts
            # once the body is sent and restarts with every chunk received, like httpx's read.
            timeout = aiohttp.ClientTimeout(
                connect=connect_timeout, sock_connect=connect_timeout, sock_read=read_timeout
            )
            self._timeouts[(read_timeout, connect_timeout)] = timeout

        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from None
        else:
            await slots.acquire()  # a free slot: returns without suspending
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy_for(url) if self._proxies else None,
            ) as response:
                return response.status, await response.read()
        except TimeoutError:
            # aiohttp's ServerTimeoutError (connect, sock_read) and the write deadline above
            raise TimedOut from None
        except aiohttp.ClientError as err:
            text = self._redact(str(err), url)
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {text}") from None
        except Exception as err:  # noqa: BLE001 - re-raised, without the URL in its text
            text = self._redact(str(err), url)
            raise NetworkError(
                f"Unknown error in HTTP implementation: {err.__class__.__name__}: {text}"
            ) from None
        finally:
            slots.release()

    def _redact(self, text: str, url: str) -> str:
        path = urlsplit(url).path
        for secret in (url, path, *self._secrets):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _proxy_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxy_cache:
            proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
            if proxy is not None and urllib.request.proxy_bypass(key[1]):
                proxy = None
            self._proxy_cache[key] = proxy
        return self._proxy_cache[key]


_HTML5_ESCAPES: Final = {'"': "%22", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
_HTML5_ESCAPED: Final = re.compile("|".join(re.escape(c) for c in _HTML5_ESCAPES))


def _html5_escape(value: str) -> str:
    """Multipart parameter escaping of the HTML5 form algorithm (httpx's): ``"`` and control
    characters percent-encoded, all else (UTF-8) as it is; aiohttp doubles backslashes."""
    return _HTML5_ESCAPED.sub(lambda match: _HTML5_ESCAPES[match.group(0)], value)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default: certificates checked against certifi's bundle (loaded once)."""
    return ssl.create_default_context(cafile=certifi.where())


def _env_proxies() -> dict[str, str]:
    """``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` as httpx reads them; aiohttp can only
    talk to a proxy over plain HTTP, so others are left out (said once in the log)."""
    proxies: dict[str, str] = {}
    for scheme, url in urllib.request.getproxies().items():
        if scheme not in ("http", "https", "all"):
            continue
        if url.startswith("http://"):
            proxies[scheme] = url
        else:
            log.warning(
                "proxy ignored: only http:// proxies are supported",
                extra={"scheme": scheme, "proxy": url.split("://", 1)[0]},
            )
    return proxies
