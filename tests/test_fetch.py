"""ticker.fetch against a real aiohttp server on 127.0.0.1: limits, conditional GET, charsets."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ticker.fetch import CHUNK_SIZE, BinaryContentError, Fetcher, decode_body, read_local_or_remote
from ticker.model import FetchStatus

ETAG = '"v1"'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"
HTML = "<html><body><p>18:13 Uhr Sacharowa: Lage in Krasnoarmeisk</p></body></html>"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
CAP = 1_000_000

# Enough German prose in windows-1252 (curly quotes, euro sign, umlauts) for detection to work
# without any declaration, as on a sloppy CMS.
CP1252_TEXT = (
    "„Wir müssen jetzt handeln“, sagte der Bürgermeister am Dienstag. Die Stadt stellt "
    "weitere 5 € Millionen für die Straßenreparatur bereit. Grüße an alle Leserinnen und "
    "Leser – die Übersicht über die Maßnahmen folgt später. Außerdem äußerte sich die "
    "Ministerin zur Lage: „Wir prüfen alle Möglichkeiten.“ "
) * 3


class State:
    """What the test server saw, so tests can assert on requests and on bytes it sent."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.endless_sent = 0


STATE = web.AppKey("state", State)


async def etag_page(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == ETAG:
        return web.Response(status=304, headers={"ETag": ETAG})
    return web.Response(text=HTML, content_type="text/html", headers={"ETag": ETAG})


async def lastmod_page(request: web.Request) -> web.Response:
    if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
        return web.Response(status=304)
    return web.Response(
        text=HTML, content_type="text/html", headers={"Last-Modified": LAST_MODIFIED}
    )


async def gzip_page(request: web.Request) -> web.Response:
    request.app[STATE].headers = dict(request.headers)
    return web.Response(
        body=gzip.compress(HTML.encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"},
    )


async def deflate_page(request: web.Request) -> web.Response:
    return web.Response(
        body=zlib.compress(HTML.encode()),
        headers={"Content-Encoding": "deflate", "Content-Type": "text/html; charset=utf-8"},
    )


async def endless_page(request: web.Request) -> web.StreamResponse:
    """Streams until the client hangs up; a client reading it all would never finish."""
    state: State = request.app[STATE]
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    chunk = b"<p>" + b"x" * 16_380 + b"</p>"
    try:
        while state.endless_sent < 200 * CAP:  # a safety net: a broken cap fails, not hangs
            await response.write(chunk)
            state.endless_sent += len(chunk)
    except (ConnectionError, aiohttp.ClientConnectionResetError):
        pass
    return response


async def bomb_page(request: web.Request) -> web.Response:
    """20 MB of text that travels as about 20 KB of gzip."""
    return web.Response(
        body=gzip.compress(b"a" * (20 * CAP), compresslevel=9),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )


async def declared_large_page(request: web.Request) -> web.Response:
    return web.Response(body=b"a" * (2 * CAP), content_type="text/plain")


async def slow_headers_page(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text=HTML, content_type="text/html")


async def dribble_page(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte every 50 ms: only a total deadline stops this."""
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    try:
        for _ in range(200):
            await response.write(b"x")
            await asyncio.sleep(0.05)
    except (ConnectionError, aiohttp.ClientConnectionResetError):
        pass
    return response


async def redirect_page(request: web.Request) -> web.Response:
    hops = int(request.match_info["hops"])
    if hops == 0:
        return web.Response(text=HTML, content_type="text/html")
    raise web.HTTPFound(f"/redirect/{hops - 1}")


async def status_page(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="nope")


async def bytes_page(request: web.Request) -> web.Response:
    """Serves fixed bytes with a fixed Content-Type header from the table below."""
    body, content_type = BYTES_PAGES[request.match_info["name"]]
    return web.Response(body=body, headers={"Content-Type": content_type})


async def echo_headers(request: web.Request) -> web.Response:
    request.app[STATE].headers = dict(request.headers)
    return web.Response(text="ok", content_type="text/plain")


BYTES_PAGES: dict[str, tuple[bytes, str]] = {
    "latin1-meta": (
        '<html><head><meta charset="iso-8859-1"></head><body>Grüße aus Köln, Straße</body>'.encode(
            "latin-1"
        ),
        "text/html",
    ),
    "http-equiv": (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "</head><body>Новости дня</body></html>".encode("cp1251"),
        "text/html",
    ),
    "xml-decl": (
        '<?xml version="1.0" encoding="ISO-8859-15"?><rss><title>Preis: 5 €</title></rss>'.encode(
            "iso-8859-15"
        ),
        "application/rss+xml",
    ),
    "header-wins": (
        '<meta charset="utf-8"><p>Grüße</p>'.encode("cp1252"),
        "text/html; charset=windows-1252",
    ),
    "bogus-charset": ("<p>Grüße</p>".encode(), "text/html; charset=no-such-charset"),
    "png": (PNG, "image/png"),
    "png-as-html": (PNG, "text/html"),
    "nul-heavy": (b"GARBAGE\x00\x01\x02\x03" * 500, "application/octet-stream"),
    "utf16-bom": ("\ufeff<p>Grüße</p>".encode("utf-16-le"), "text/html"),
    "empty": (b"", "text/html"),
}


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, State]]:
    app = web.Application()
    state = State()
    app[STATE] = state
    app.router.add_get("/etag", etag_page)
    app.router.add_get("/lastmod", lastmod_page)
    app.router.add_get("/gzip", gzip_page)
    app.router.add_get("/deflate", deflate_page)
    app.router.add_get("/endless", endless_page)
    app.router.add_get("/bomb", bomb_page)
    app.router.add_get("/declared-large", declared_large_page)
    app.router.add_get("/slow-headers", slow_headers_page)
    app.router.add_get("/dribble", dribble_page)
    app.router.add_get("/redirect/{hops}", redirect_page)
    app.router.add_get("/status/{code}", status_page)
    app.router.add_get("/bytes/{name}", bytes_page)
    app.router.add_get("/echo", echo_headers)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    try:
        yield test_server, state
    finally:
        await test_server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with Fetcher.create_session("tickerbot-test/1.0") as client_session:
        yield client_session


@pytest.fixture
def fetcher(session: aiohttp.ClientSession) -> Fetcher:
    return Fetcher(session, timeout_seconds=5, max_bytes=CAP, user_agent="tickerbot-test/1.0")


def url(server: tuple[TestServer, State], path: str) -> str:
    return str(server[0].make_url(path))


# --- conditional GET ---------------------------------------------------------------------------


async def test_etag_then_304(server: tuple[TestServer, State], fetcher: Fetcher) -> None:
    first = await fetcher.fetch(url(server, "/etag"))
    assert first.status is FetchStatus.OK
    assert first.ok
    assert first.text == HTML
    assert first.etag == ETAG
    assert first.http_status == 200
    assert first.content_type == "text/html"
    assert first.charset == "utf-8"
    assert first.bytes_read == len(HTML)

    second = await fetcher.fetch(url(server, "/etag"), etag=first.etag)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.http_status == 304
    assert second.text is None
    assert second.etag == ETAG


async def test_last_modified_round_trip(server: tuple[TestServer, State], fetcher: Fetcher) -> None:
    first = await fetcher.fetch(url(server, "/lastmod"))
    assert first.status is FetchStatus.OK
    assert first.last_modified == LAST_MODIFIED
    assert first.etag is None

    second = await fetcher.fetch(url(server, "/lastmod"), last_modified=first.last_modified)
    assert second.status is FetchStatus.NOT_MODIFIED
    # The server repeated no validator: the one sent is carried forward for the next poll.
    assert second.last_modified == LAST_MODIFIED


async def test_sends_user_agent_and_accept_encoding(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/echo"))
    assert result.ok
    headers = server[1].headers
    assert headers["User-Agent"] == "tickerbot-test/1.0"
    assert "gzip" in headers["Accept-Encoding"]
    assert "If-None-Match" not in headers


# --- compression and size cap ------------------------------------------------------------------


async def test_gzip_body_is_decompressed(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/gzip"))
    assert result.status is FetchStatus.OK
    assert result.text == HTML
    assert result.bytes_read == len(HTML)  # decompressed bytes, not wire bytes


async def test_deflate_body_is_decompressed(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/deflate"))
    assert result.status is FetchStatus.OK
    assert result.text == HTML


async def test_endless_body_stops_at_cap(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    started = time.monotonic()
    result = await fetcher.fetch(url(server, "/endless"))
    assert result.status is FetchStatus.TOO_LARGE
    assert CAP < result.bytes_read <= CAP + CHUNK_SIZE
    assert result.error == f"page larger than {CAP} bytes"
    assert result.text is None
    assert time.monotonic() - started < 3
    # The connection was dropped instead of drained: the server stopped soon after the cap.
    await asyncio.sleep(0.1)
    assert server[1].endless_sent < 20 * CAP


async def test_gzip_bomb_counts_decompressed_bytes(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/bomb"))
    assert result.status is FetchStatus.TOO_LARGE
    assert CAP < result.bytes_read <= CAP + CHUNK_SIZE


async def test_declared_length_over_cap_is_refused_unread(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/declared-large"))
    assert result.status is FetchStatus.TOO_LARGE
    assert result.bytes_read == 0


# --- time ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slow-headers", "/dribble"])
async def test_slow_server_times_out(
    server: tuple[TestServer, State], session: aiohttp.ClientSession, path: str
) -> None:
    fetcher = Fetcher(session, timeout_seconds=0.3, max_bytes=CAP, user_agent="t")
    started = time.monotonic()
    result = await fetcher.fetch(url(server, path))
    elapsed = time.monotonic() - started
    assert result.status is FetchStatus.TIMEOUT
    assert result.error == "timed out after 0.3 s"
    assert elapsed < 1.5


# --- redirects and HTTP errors -----------------------------------------------------------------


@pytest.mark.parametrize("hops", [3, 5])
async def test_redirects_are_followed(
    server: tuple[TestServer, State], fetcher: Fetcher, hops: int
) -> None:
    result = await fetcher.fetch(url(server, f"/redirect/{hops}"))
    assert result.status is FetchStatus.OK
    assert result.url == url(server, "/redirect/0")
    assert result.text == HTML


async def test_too_many_redirects(server: tuple[TestServer, State], fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/redirect/6"))
    assert result.status is FetchStatus.TOO_MANY_REDIRECTS
    assert result.error == "more than 5 redirects"


@pytest.mark.parametrize(("code", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
async def test_http_errors(
    server: tuple[TestServer, State], fetcher: Fetcher, code: int, reason: str
) -> None:
    result = await fetcher.fetch(url(server, f"/status/{code}"))
    assert result.status is FetchStatus.HTTP_ERROR
    assert result.http_status == code
    assert result.error == f"HTTP {code} {reason}"
    assert result.text is None


# --- network errors -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_port(fetcher: Fetcher) -> None:
    target = f"http://127.0.0.1:{free_port()}/ticker"
    result = await fetcher.fetch(target)
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.url == target
    assert result.error is not None
    assert result.error.startswith("cannot connect to 127.0.0.1:")
    assert result.error.endswith("connection refused")


@pytest.mark.parametrize("target", ["http://", "ftp://example.org/x", "not a url", "http://[::1"])
async def test_invalid_url_is_a_network_error(fetcher: Fetcher, target: str) -> None:
    result = await fetcher.fetch(target)
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.error


async def test_bad_validator_is_an_error_value_not_an_exception(
    server: tuple[TestServer, State], fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/etag"), etag='"v1"\r\nX-Injected: 1')
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.error is not None
    assert result.error.startswith("invalid URL or request header")


# --- charsets and binary content ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected_text", "expected_charset"),
    [
        # Latin-1 labels decode as windows-1252, as browsers do (WHATWG encoding standard).
        ("latin1-meta", "Grüße aus Köln, Straße", "cp1252"),
        ("http-equiv", "Новости дня", "cp1251"),
        ("xml-decl", "Preis: 5 €", "iso8859-15"),
        ("header-wins", "Grüße", "cp1252"),
        ("bogus-charset", "Grüße", "utf-8"),
        ("utf16-bom", "Grüße", "utf-16"),
    ],
)
async def test_declared_charsets(
    server: tuple[TestServer, State],
    fetcher: Fetcher,
    name: str,
    expected_text: str,
    expected_charset: str,
) -> None:
    result = await fetcher.fetch(url(server, f"/bytes/{name}"))
    assert result.status is FetchStatus.OK, result.error
    assert result.text is not None
    assert expected_text in result.text
    assert result.charset == expected_charset


@pytest.fixture
async def bare_server() -> AsyncIterator[str]:
    """A raw HTTP/1.1 server for a response aiohttp.web cannot send: one without Content-Type."""
    body = f"<html><body><p>{CP1252_TEXT}</p></body></html>".encode("cp1252")
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        writer.close()

    raw = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/ticker"
    finally:
        raw.close()
        await raw.wait_closed()


async def test_undeclared_windows_1252_is_detected(bare_server: str, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(bare_server)
    assert result.status is FetchStatus.OK, result.error
    assert result.content_type is None
    assert result.charset == "cp1252"
    assert result.text is not None
    assert "Grüße" in result.text
    assert "„Wir müssen jetzt handeln“" in result.text
    assert "5 €" in result.text
    assert "\ufffd" not in result.text


async def test_empty_body_is_ok(server: tuple[TestServer, State], fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/bytes/empty"))
    assert result.status is FetchStatus.OK
    assert result.text == ""


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("png", "the server sent image/png"),
        ("png-as-html", "the content is a PNG image"),
        ("nul-heavy", "the content looks binary"),
    ],
)
async def test_binary_body_is_unparseable(
    server: tuple[TestServer, State], fetcher: Fetcher, name: str, reason: str
) -> None:
    result = await fetcher.fetch(url(server, f"/bytes/{name}"))
    assert result.status is FetchStatus.UNPARSEABLE
    assert result.text is None
    assert result.error is not None
    assert result.error.startswith("not a text page")
    assert reason in result.error


def test_decode_body_falls_back_to_utf8_with_replacement() -> None:
    # Invalid UTF-8 that the detector also cannot place still yields text, never an exception.
    decoded = decode_body(b"<p>ok \xff\xfe\xfd</p>" * 3, "text/html")
    assert decoded.text.startswith("<p>ok ")


def test_decode_body_rejects_control_bytes_even_as_html() -> None:
    with pytest.raises(BinaryContentError):
        decode_body(b"\x00\x01\x02\x03<html>" * 100, "text/html")


# --- local files and the CLI helper ------------------------------------------------------------


async def test_local_file_is_read(tmp_path: Path) -> None:
    page = tmp_path / "ticker.html"
    page.write_bytes(BYTES_PAGES["latin1-meta"][0])
    result = await read_local_or_remote(str(page))
    assert result.status is FetchStatus.OK
    assert result.text is not None
    assert "Grüße aus Köln" in result.text
    assert result.url == page.as_uri()
    assert result.content_type == "text/html"
    assert result.http_status is None


async def test_file_url_is_read(tmp_path: Path) -> None:
    page = tmp_path / "ticker page.txt"
    page.write_text("18:13 Uhr Schlagzeile", encoding="utf-8")
    result = await read_local_or_remote(page.as_uri())
    assert result.status is FetchStatus.OK
    assert result.text == "18:13 Uhr Schlagzeile"


async def test_local_file_respects_cap(tmp_path: Path) -> None:
    page = tmp_path / "big.txt"
    page.write_bytes(b"a" * 5000)
    result = await read_local_or_remote(str(page), max_bytes=1000)
    assert result.status is FetchStatus.TOO_LARGE
    assert result.bytes_read == 1001


async def test_local_binary_file_is_unparseable(tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    result = await read_local_or_remote(str(image))
    assert result.status is FetchStatus.UNPARSEABLE


async def test_missing_file_gives_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    result = await read_local_or_remote(str(missing))
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.error == (
        f"no such file: {missing} (for a web page give an http:// or https:// URL)"
    )


async def test_directory_gives_clear_error(tmp_path: Path) -> None:
    result = await read_local_or_remote(str(tmp_path))
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.error is not None
    assert "directory" in result.error


async def test_unsupported_scheme(tmp_path: Path) -> None:
    result = await read_local_or_remote("ftp://example.org/ticker")
    assert result.status is FetchStatus.NETWORK_ERROR
    assert result.error is not None
    assert "unsupported URL scheme 'ftp'" in result.error


async def test_remote_url_uses_a_temporary_session(server: tuple[TestServer, State]) -> None:
    result = await read_local_or_remote(url(server, "/gzip"), user_agent="cli-agent")
    assert result.status is FetchStatus.OK
    assert result.text == HTML
    assert server[1].headers["User-Agent"] == "cli-agent"


def test_constructor_rejects_nonsense_limits() -> None:
    session = object()
    with pytest.raises(ValueError, match="timeout"):
        Fetcher(session, timeout_seconds=0, max_bytes=1, user_agent="t")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_bytes"):
        Fetcher(session, timeout_seconds=1, max_bytes=0, user_agent="t")  # type: ignore[arg-type]
