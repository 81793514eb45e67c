"""Fetching ticker pages over HTTP (aiohttp) or from disk, with hard limits.

Every outcome is a :class:`~ticker.model.FetchResult` value. A poller runs this every few seconds
against pages it does not control, so a broken, slow, huge or binary page must come back as a
status the caller can count and back off on, never as an exception that kills a scheduler job.

Limits, and why they look the way they do:

* **Size** — the cap counts *decompressed* bytes while streaming. A 10 KB gzip body can inflate
  to gigabytes; checking ``Content-Length`` alone would let that through, so the body is read in
  chunks and reading stops as soon as the cap is passed.
* **Time** — one ``ClientTimeout(total=…)`` covers connecting, every redirect hop and reading the
  body, so a server that dribbles one byte a second still ends at the deadline.
* **Redirects** — at most ``max_redirects`` hops; login walls and consent pages like to loop.
* **Conditional GET** — ``If-None-Match`` / ``If-Modified-Since`` make an unchanged page a cheap
  304, which matters when a source is polled every 30 seconds.

Decoding follows the order browsers use, minus what a ticker does not need: byte-order mark, then
the ``Content-Type`` charset, then a ``<meta>`` or XML declaration in the first 4 KB, then
statistical detection, then UTF-8 with replacement characters, so a page always yields text.
"""

from __future__ import annotations

import asyncio
import codecs
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import aiohttp
import charset_normalizer

from ticker.model import FetchResult, FetchStatus

__all__ = ["Fetcher", "decode_body", "read_local_or_remote"]

CHUNK_SIZE = 64 * 1024
"""Bytes per streamed read: the cap is overshot by at most this, and reads stay cheap."""

SNIFF_BYTES = 4096
"""How far into the body to look for a charset declaration or binary signatures (as browsers do)."""

THREAD_DECODE_BYTES = 256 * 1024
"""Bodies above this are decoded in a worker thread: charset detection on megabytes would stall
the event loop, and with it every other source and the Telegram sender."""

ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,application/rss+xml,"
    "application/atom+xml,application/ld+json,application/json;q=0.8,text/plain;q=0.8,*/*;q=0.5"
)
# Only what aiohttp can always inflate: asking for br/zstd would depend on optional packages.
ACCEPT_ENCODING = "gzip, deflate"

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_:.+-]+)["']""", re.IGNORECASE
)
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"RIFF", "a RIFF (WebP/WAV/AVI) file"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
)
_BINARY_TYPE_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/vnd.ms-fontobject",
        "application/wasm",
    }
)
# Bytes that never occur in text: C0 controls except tab, LF, FF, CR and ESC (ISO-2022).
_CONTROL_BYTES = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B})
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """Text of a body and the charset it was decoded with (a codec name Python knows)."""

    text: str
    charset: str


class BinaryContentError(ValueError):
    """The body is an image, archive or other non-text payload; no parser can use it."""


class Fetcher:
    """Fetches ticker pages through one shared ``aiohttp.ClientSession``.

    The session is passed in rather than created here so that the whole process shares one
    connection pool (keep-alive to each ticker host, one DNS cache) and its lifetime is owned by
    the application, which closes it at shutdown.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout_seconds: float,
        max_bytes: int,
        user_agent: str,
        max_redirects: int = 5,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self._session = session
        self._timeout_seconds = timeout_seconds
        self._max_bytes = max_bytes
        self._user_agent = user_agent
        self._max_redirects = max_redirects

    @classmethod
    def create_session(cls, user_agent: str) -> aiohttp.ClientSession:
        """The one session a process should use for all sources; call it inside a running loop.

        Connector limits keep a misconfigured source list from opening hundreds of sockets and
        stay polite to a host that serves several tickers. ``auto_decompress`` is on because the
        byte cap is applied to the inflated stream, which is what a decompression bomb attacks.
        """
        connector = aiohttp.TCPConnector(
            limit=64,
            limit_per_host=8,
            ttl_dns_cache=300,
            keepalive_timeout=30,
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={
                "User-Agent": user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            auto_decompress=True,
            raise_for_status=False,
        )

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` and return the outcome as a value; network and HTTP problems never raise.

        ``etag`` and ``last_modified`` are the validators from the previous successful fetch;
        a 304 answer returns ``NOT_MODIFIED`` and carries them forward (the server's, if it sent
        new ones) so the caller can store the result's validators unconditionally.
        """
        headers = {"User-Agent": self._user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        timeout = aiohttp.ClientTimeout(total=self._timeout_seconds)
        final_url = url
        progress = _Progress()
        try:
            async with self._session.get(
                url,
                headers=headers,
                timeout=timeout,
                allow_redirects=True,
                # aiohttp raises on the n-th hop; +1 so that exactly max_redirects hops succeed.
                max_redirects=self._max_redirects + 1,
            ) as response:
                final_url = str(response.url)
                if response.status == 304:
                    return FetchResult(
                        status=FetchStatus.NOT_MODIFIED,
                        url=final_url,
                        etag=response.headers.get("ETag") or etag,
                        last_modified=response.headers.get("Last-Modified") or last_modified,
                        http_status=304,
                    )
                content_type = _content_type(response)
                if not 200 <= response.status < 300:
                    return FetchResult(
                        status=FetchStatus.HTTP_ERROR,
                        url=final_url,
                        content_type=content_type,
                        http_status=response.status,
                        error=_http_error_text(response.status, response.reason),
                    )
                body = await self._read_capped(response, progress)
                if body is None:
                    # Unread bytes stay on the socket: close it rather than drain it.
                    response.close()
                    return FetchResult(
                        status=FetchStatus.TOO_LARGE,
                        url=final_url,
                        content_type=content_type,
                        http_status=response.status,
                        bytes_read=progress.bytes_read,
                        error=f"page larger than {self._max_bytes} bytes",
                    )
                header_charset = response.charset
                response_etag = response.headers.get("ETag")
                response_last_modified = response.headers.get("Last-Modified")
                http_status = response.status
        except aiohttp.TooManyRedirects as exc:
            last = exc.history[-1] if exc.history else None
            return FetchResult(
                status=FetchStatus.TOO_MANY_REDIRECTS,
                url=str(last.url) if last is not None else final_url,
                http_status=last.status if last is not None else None,
                error=f"more than {self._max_redirects} redirects",
            )
        except TimeoutError:
            # Also aiohttp.ServerTimeoutError, which subclasses both ClientError and TimeoutError.
            return FetchResult(
                status=FetchStatus.TIMEOUT,
                url=final_url,
                bytes_read=progress.bytes_read,
                error=f"timed out after {self._timeout_seconds:g} s",
            )
        except aiohttp.ClientError as exc:
            return FetchResult(
                status=FetchStatus.NETWORK_ERROR,
                url=final_url,
                bytes_read=progress.bytes_read,
                error=_client_error_text(exc),
            )
        except ValueError as exc:
            # yarl rejects some malformed URLs (and IDNA some host names, UnicodeError being a
            # ValueError) before aiohttp wraps them; aiohttp refuses a validator containing CR/LF
            # as header injection.
            return FetchResult(
                status=FetchStatus.NETWORK_ERROR,
                url=final_url,
                error=f"invalid URL or request header: {exc}",
            )
        # Decoded after the connection went back to the pool: detection is CPU work.
        return await _decoded_result(
            body,
            url=final_url,
            content_type=content_type,
            header_charset=header_charset,
            etag=response_etag,
            last_modified=response_last_modified,
            http_status=http_status,
        )

    async def _read_capped(
        self, response: aiohttp.ClientResponse, progress: _Progress
    ) -> bytes | None:
        """The decompressed body, or ``None`` once more than ``max_bytes`` arrived.

        ``progress`` counts the bytes actually read, also when a timeout interrupts the read, so
        every result can say how far it got. A declared identity ``Content-Length`` over the cap
        is refused before reading a byte.
        """
        declared = response.content_length
        if (
            declared is not None
            and declared > self._max_bytes
            and response.headers.get("Content-Encoding", "identity").lower() == "identity"
        ):
            return None
        chunks: list[bytes] = []
        async for chunk in response.content.iter_chunked(CHUNK_SIZE):
            progress.bytes_read += len(chunk)
            if progress.bytes_read > self._max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass(slots=True)
class _Progress:
    """Bytes read so far; mutable so that a timeout mid-body still reports them."""

    bytes_read: int = 0


def _content_type(response: aiohttp.ClientResponse) -> str | None:
    """The media type the server declared; aiohttp would invent application/octet-stream."""
    return response.content_type if "Content-Type" in response.headers else None


async def read_local_or_remote(
    target: str,
    *,
    timeout_seconds: float = 20,
    max_bytes: int = 10_000_000,
    user_agent: str = "tickerbot",
) -> FetchResult:
    """Read ``target`` for ``tickerbot fetch``: an http(s) URL, a ``file://`` URL or a path.

    Files go through the same cap, binary check and charset logic as web pages, so the CLI shows
    what the bot would see. A URL gets a temporary session: the CLI fetches exactly once.
    """
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        async with Fetcher.create_session(user_agent) as session:
            fetcher = Fetcher(
                session, timeout_seconds=timeout_seconds, max_bytes=max_bytes, user_agent=user_agent
            )
            return await fetcher.fetch(target)
    if scheme == "file":
        path = url2pathname(parts.path)
    elif "://" in target:
        return FetchResult(
            status=FetchStatus.NETWORK_ERROR,
            url=target,
            error=f"unsupported URL scheme {parts.scheme!r}: give an http(s) URL or a file path",
        )
    else:
        path = target
    return await _read_file(path, max_bytes=max_bytes)


async def _read_file(path: str, *, max_bytes: int) -> FetchResult:
    try:
        url, data = await asyncio.to_thread(_read_at_most, path, max_bytes + 1)
    except FileNotFoundError:
        return FetchResult(
            status=FetchStatus.NETWORK_ERROR,
            url=path,
            error=f"no such file: {path} (for a web page give an http:// or https:// URL)",
        )
    except IsADirectoryError:
        return FetchResult(
            status=FetchStatus.NETWORK_ERROR, url=path, error=f"{path} is a directory, not a file"
        )
    except OSError as exc:
        return FetchResult(
            status=FetchStatus.NETWORK_ERROR,
            url=path,
            error=f"cannot read {path}: {exc.strerror or exc}",
        )
    content_type, _ = mimetypes.guess_type(path)
    if len(data) > max_bytes:
        return FetchResult(
            status=FetchStatus.TOO_LARGE,
            url=url,
            content_type=content_type,
            bytes_read=len(data),
            error=f"file larger than {max_bytes} bytes",
        )
    return await _decoded_result(
        data,
        url=url,
        content_type=content_type,
        header_charset=None,
        etag=None,
        last_modified=None,
        http_status=None,
    )


def _read_at_most(path: str, limit: int) -> tuple[str, bytes]:
    """The file's URI and at most ``limit`` of its bytes (a huge file costs no more than a page).

    Runs in a worker thread: even resolving a path can block on a slow or network file system.
    """
    resolved = Path(path).expanduser().absolute()
    with resolved.open("rb") as handle:
        return resolved.as_uri(), handle.read(limit)


async def _decoded_result(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    header_charset: str | None,
    etag: str | None,
    last_modified: str | None,
    http_status: int | None,
) -> FetchResult:
    """An OK result with decoded text, or UNPARSEABLE for a binary body."""
    try:
        if len(body) > THREAD_DECODE_BYTES:
            decoded = await asyncio.to_thread(decode_body, body, content_type, header_charset)
        else:
            decoded = decode_body(body, content_type, header_charset)
    except (BinaryContentError, UnicodeError) as exc:
        return FetchResult(
            status=FetchStatus.UNPARSEABLE,
            url=url,
            content_type=content_type,
            etag=etag,
            last_modified=last_modified,
            http_status=http_status,
            bytes_read=len(body),
            error=str(exc),
        )
    return FetchResult(
        status=FetchStatus.OK,
        url=url,
        text=decoded.text,
        content_type=content_type,
        charset=decoded.charset,
        etag=etag,
        last_modified=last_modified,
        http_status=http_status,
        bytes_read=len(body),
    )


def decode_body(
    body: bytes, content_type: str | None = None, header_charset: str | None = None
) -> DecodedBody:
    """Decode a page body to text; raises :class:`BinaryContentError` for non-text payloads.

    Order: BOM, the ``Content-Type`` charset, an in-document declaration in the first 4 KB,
    strict UTF-8, ``charset_normalizer``, and finally UTF-8 with replacement characters. A
    declared charset is trusted even if some bytes do not fit (replaced, not rejected): a page
    with one stray byte is still a page. Unknown charset names fall through to the next step.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return DecodedBody(body.decode(codec, errors="replace"), codec.removesuffix("-sig"))
    declared = _known_codec(header_charset)
    _reject_binary(body, content_type, declared)
    if declared is None:
        declared = _known_codec(_sniff_declared_charset(body[:SNIFF_BYTES]))
    if declared is not None:
        return DecodedBody(body.decode(declared, errors="replace"), declared)
    try:
        # Most pages are UTF-8, and the detector can mislabel short UTF-8 text; strict decoding
        # is both the fastest check and the most reliable one.
        return DecodedBody(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body).best()
    detected = _known_codec(_preferred_encoding(best))
    if detected is not None:
        return DecodedBody(body.decode(detected, errors="replace"), detected)
    return DecodedBody(body.decode("utf-8", errors="replace"), "utf-8")


def _preferred_encoding(match: charset_normalizer.CharsetMatch | None) -> str | None:
    """The detector's guess, but windows-1252 whenever that decodes to exactly the same text.

    For short German or English pages several Windows code pages decode identically and the
    detector picks one arbitrarily (often cp1250); naming the common one keeps logs and metrics
    unsurprising without changing a single character of the text.
    """
    if match is None:
        return None
    if "cp1252" in match.could_be_from_charset:
        return "cp1252"
    return match.encoding


def _known_codec(name: str | None) -> str | None:
    """Python's canonical codec name for a charset label, or None if unknown or not text."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    # WHATWG: pages labelled Latin-1 are really windows-1252 (curly quotes, euro sign).
    if label in ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"):
        label = "cp1252"
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # "base64", "rot13" and friends are codecs too, but not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _sniff_declared_charset(head: bytes) -> str | None:
    """Charset from an XML declaration or ``<meta>`` tag in the first bytes of a document."""
    xml = _XML_ENCODING.match(head)
    if xml is not None:
        return xml.group(1).decode("ascii")
    meta = _META_CHARSET.search(head)
    if meta is not None:
        return meta.group(1).decode("ascii")
    return None


def _reject_binary(body: bytes, content_type: str | None, declared: str | None) -> None:
    """Raise :class:`BinaryContentError` when the body is clearly not a text document."""
    mime = (content_type or "").lower()
    if mime.startswith(_BINARY_TYPE_PREFIXES) or mime in _BINARY_TYPES:
        raise BinaryContentError(f"not a text page: the server sent {mime}")
    head = body[:SNIFF_BYTES]
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise BinaryContentError(f"not a text page: the content is {what}")
    if declared is not None and declared.startswith(("utf_16", "utf_32")):
        return  # NUL bytes are normal there
    if not head:
        return
    controls = sum(head.count(byte) for byte in _CONTROL_BYTES)
    # Text has essentially none of these; allow a stray few from a sloppy CMS.
    if controls > max(4, len(head) // 100):
        raise BinaryContentError(
            "not a text page: the content looks binary "
            f"({controls} control bytes in the first {len(head)})"
        )


def _http_error_text(status: int, reason: str | None) -> str:
    return f"HTTP {status} {reason}".rstrip() if reason else f"HTTP {status}"


def _client_error_text(exc: aiohttp.ClientError) -> str:
    """A one-line reason an operator can act on, without a traceback."""
    if isinstance(exc, aiohttp.NonHttpUrlRedirectClientError):
        return f"redirected to a non-HTTP URL: {exc}"
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return f"not an http(s) URL: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientConnectorCertificateError):
        return f"TLS error talking to {exc.host}: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # asyncio's strerror repeats the address ("Connect call failed (...)"); errno says why.
        errno = exc.os_error.errno
        reason = os.strerror(errno).lower() if errno else str(exc.os_error) or "connection failed"
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
