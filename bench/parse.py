"""Parsing benchmark: ~1 MB ticker pages with 500 entries per layer, median parse time.

Run: ``/work/venv/bin/python bench/parse.py [--runs N]``. Compares the generic HTML parser with
trafilatura's ``extract`` on the same HTML page (trafilatura flattens the page and finds no
entries; it is the obvious off-the-shelf alternative, so it is the yardstick for speed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ticker.model import ParseOptions
from ticker.parse import parse_page

ENTRIES = 500
START = datetime(2026, 1, 21, 23, 50, tzinfo=UTC)
PARAGRAPH = (
    "Nach Angaben der Regionalverwaltung wurden in der Nacht mehrere Drohnen abgefangen, "
    "Trümmer beschädigten zwei Wohnhäuser und eine Schule; verletzt wurde nach ersten "
    "Erkenntnissen niemand. Die Behörden riefen die Bevölkerung auf, Schutzräume aufzusuchen "
    "und den Anweisungen der Rettungskräfte zu folgen, bis die Lage geklärt sei."
)


def _stamp(index: int) -> datetime:
    return START - timedelta(minutes=17 * index)


def _headline(index: int) -> str:
    return f"Meldung {index}: Lage in der Region Charkiw bleibt angespannt"


def html_page() -> str:
    posts = []
    previous_day: date | None = None
    for index in range(ENTRIES):
        local = _stamp(index) + timedelta(hours=1)
        if local.date() != previous_day:
            previous_day = local.date()
            posts.append(f'<h2 class="day">{local.day}. {local.month}. {local.year}</h2>')
        body = "".join(
            f'<p class="text">{PARAGRAPH} <a href="/x/{index}/{n}">Mehr</a> <em>({n})</em></p>'
            for n in range(4)
        )
        posts.append(
            f'<article class="live-entry" id="block-{index:08x}">'
            f'<div class="meta"><span class="rel">vor {index} Minuten</span>'
            f"<time>{local:%H:%M} Uhr</time></div>"
            f'<h3 class="headline"><span>{_headline(index)}</span></h3>{body}'
            f'<div class="share"><button>Teilen</button><a href="#">X</a></div></article>'
        )
        if index % 25 == 0:
            posts.append('<div class="ad-slot"><p>Anzeige</p><iframe src="/ad"></iframe></div>')
    nav = "".join(f"<li><a href='/r/{n}'>Ressort {n}</a></li>" for n in range(60))
    return (
        "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'><title>Liveticker</title>"
        "<script>var x = 1;</script><style>.a{color:red}</style></head><body>"
        f"<nav><ul>{nav}</ul></nav><main><h1>Liveticker</h1>{''.join(posts)}</main>"
        "<footer><p>Impressum</p></footer></body></html>"
    )


def jsonld_page() -> str:
    updates = [
        {
            "@type": "BlogPosting",
            "headline": _headline(index),
            "datePublished": _stamp(index).isoformat(),
            "url": f"https://ex.org/live#post-{index}",
            "articleBody": "<br/>".join([PARAGRAPH] * 5).replace("Trümmer", "Tr&uuml;mmer"),
        }
        for index in range(ENTRIES)
    ]
    data = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "liveBlogUpdate": updates}
    return (
        "<html><head><script type='application/ld+json'>"
        f"{json.dumps(data, ensure_ascii=False)}</script></head><body><p>x</p></body></html>"
    )


def rss_page() -> str:
    items = "".join(
        f"<item><title>{escape(_headline(index))}</title><guid>post-{index}</guid>"
        f"<link>https://ex.org/live#post-{index}</link>"
        f"<pubDate>{_stamp(index):%a, %d %b %Y %H:%M:%S} +0000</pubDate>"
        f"<description>{escape('<p>' + '</p><p>'.join([PARAGRAPH] * 5) + '</p>')}</description>"
        "</item>"
        for index in range(ENTRIES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://ex.org/</link><description>d</description>{items}</channel></rss>"
    )


def text_page() -> str:
    lines = ["Liveticker", f"{(START + timedelta(hours=1)):%d.%m.%Y %H:%M} Uhr"]
    for index in range(ENTRIES):
        local = _stamp(index) + timedelta(hours=1)
        lines += [f"{local:%H:%M} Uhr", _headline(index), *([PARAGRAPH] * 6)]
    return "\n".join(lines)


def timings(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, minimum) seconds; the minimum is the figure least disturbed by a busy machine."""
    call()  # warm-up: imports, regex compilation, caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; {_cpu_model()}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()}; load average {load:.2f}")
    pages = {"html": html_page(), "jsonld": jsonld_page(), "rss": rss_page(), "text": text_page()}
    print(f"{'layer':8} {'size':>7} {'entries':>7} {'median ms':>9} {'min ms':>7} {'entries/s':>9}")
    for layer, page in pages.items():
        options = ParseOptions(format=layer)  # type: ignore[arg-type]
        result = parse_page(page, options)
        median, fastest = timings(partial(parse_page, page, options), args.runs)
        count = len(result.entries)
        print(
            f"{layer:8} {len(page.encode()) / 1e6:6.2f}M {count:7d} {median * 1e3:9.1f} "
            f"{fastest * 1e3:7.1f} {count / median:9.0f}"
        )
    try:
        import trafilatura
    except ImportError:
        print("trafilatura not installed")
        return 0
    html = pages["html"]
    median, fastest = timings(lambda: trafilatura.extract(html), max(3, args.runs // 3))
    print(
        f"trafilatura.extract, same html page: median {median * 1e3:.1f} ms, "
        f"min {fastest * 1e3:.1f} ms (flat text, no entries)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
