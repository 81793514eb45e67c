"""A local live-ticker website for tests, benchmarks and `tickerbot demo`.

It serves one page in the seed page's plain-text shape (newest first, ``HH:MM Uhr`` headers,
the date on the first header) or as HTML, with ETag/304 support, and lets the caller add and
correct entries while a bot polls it. Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True, slots=True)
class SiteEntry:
    published_at: datetime
    headline: str
    body: str


class TickerSite:
    """An aiohttp server with one ticker page at ``/ticker`` (text) and ``/ticker.html``."""

    def __init__(self, title: str = "Liveticker", zone: ZoneInfo = BERLIN) -> None:
        self.title = title
        self.zone = zone
        self.entries: list[SiteEntry] = []
        self.requests = 0
        self.status = 200
        self._runner: web.AppRunner | None = None
        self._static: dict[str, tuple[str, str]] = {}
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ticker"

    @property
    def html_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ticker.html"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ticker", self._text)
        app.router.add_get("/ticker.html", self._html)
        app.router.add_get("/static/{name}", self._static_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TickerSite:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def add(self, headline: str, body: str, at: datetime | None = None) -> SiteEntry:
        """Publish an entry (newest first on the page). Times are minute-precise, as on
        real tickers."""
        when = (
            (at or datetime.now(self.zone)).astimezone(self.zone).replace(second=0, microsecond=0)
        )
        entry = SiteEntry(when, headline, body)
        self.entries.append(entry)
        self.entries.sort(key=lambda e: e.published_at, reverse=True)
        return entry

    def correct(self, entry: SiteEntry, body: str) -> SiteEntry:
        """The publisher fixes an entry's text: same time and headline, new body."""
        fixed = replace(entry, body=body)
        self.entries = [fixed if e == entry else e for e in self.entries]
        return fixed

    def remove(self, entry: SiteEntry) -> None:
        self.entries = [e for e in self.entries if e != entry]

    def render_text(self) -> str:
        lines = [self.title, ""]
        for index, entry in enumerate(self.entries):
            local = entry.published_at.astimezone(self.zone)
            if index == 0:
                lines.append(f"{local:%d.%m.%Y %H:%M} Uhr")
            lines += [f"{local:%H:%M} Uhr", entry.headline, *entry.body.split("\n")]
        return "\n".join(lines) + "\n"

    def render_html(self) -> str:
        parts = [
            "<!doctype html><html lang='de'><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title></head><body><main>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for index, entry in enumerate(self.entries):
            local = entry.published_at.astimezone(self.zone)
            if index == 0:
                parts.append(f"<p class='date'>{local:%d.%m.%Y %H:%M} Uhr</p>")
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in entry.body.split("\n"))
            parts.append(
                f"<article><p><strong>{local:%H:%M} Uhr</strong></p>"
                f"<h2>{html.escape(entry.headline)}</h2>{paragraphs}</article>"
            )
        parts.append("</main></body></html>")
        return "".join(parts)

    async def _serve(self, request: web.Request, body: str, content_type: str) -> web.Response:
        self.requests += 1
        if self.status != 200:
            return web.Response(status=self.status, text="error")
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            text=body, content_type=content_type, charset="utf-8", headers={"ETag": etag}
        )

    def serve_static(self, name: str, text: str, content_type: str = "text/plain") -> str:
        """Serve a fixed page (e.g. the bundled seed ticker); returns its URL."""
        self._static[name] = (text, content_type)
        return f"http://127.0.0.1:{self.port}/static/{name}"

    async def _static_page(self, request: web.Request) -> web.Response:
        page = self._static.get(request.match_info["name"])
        if page is None:
            raise web.HTTPNotFound()
        return await self._serve(request, page[0], page[1])

    async def _text(self, request: web.Request) -> web.Response:
        return await self._serve(request, self.render_text(), "text/plain")

    async def _html(self, request: web.Request) -> web.Response:
        return await self._serve(request, self.render_html(), "text/html")
