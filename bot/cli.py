"""`tickerbot` command line (SPEC §2). Exit codes: 0 ok, 1 the work failed, 2 bad usage/config."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import ConfigError, Settings, load_settings, require_token
from bot.logging_setup import configure_logging
from ticker.model import PAGE_FORMATS, Entry, ParseOptions

log = logging.getLogger("tickerbot.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickerbot", description="Follows live news tickers and pushes them to Telegram."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "-c", "--config", help="config file (default: $TICKERBOT_CONFIG or ./config.toml)"
        )
        return sub

    with_config(verbs.add_parser("run", help="run the bot until SIGINT/SIGTERM"))
    fetch = verbs.add_parser("fetch", help="fetch or read one ticker and print its entries")
    fetch.add_argument("target", metavar="URL_OR_FILE")
    fetch.add_argument("--format", choices=PAGE_FORMATS, default="auto")
    fetch.add_argument("--json", action="store_true", help="one JSON object per entry and line")
    fetch.add_argument("--timezone", default="Europe/Berlin", help="zone of bare HH:MM times")
    fetch.add_argument("--date", help="the page's date (YYYY-MM-DD) where it gives none")
    fetch.add_argument(
        "--end-marker", action="append", default=[], help="phrase where an entry's body ends"
    )
    fetch.add_argument("--timeout", type=float, default=20.0, help=argparse.SUPPRESS)
    fetch.add_argument("--max-bytes", type=int, default=10_000_000, help=argparse.SUPPRESS)
    demo = verbs.add_parser("demo", help="the whole bot offline, the terminal as the chat")
    demo.add_argument("--channel", action="store_true", help="add a demo channel you administer")
    demo.add_argument("--lang", choices=("de", "en"), default="de", help="the bot's language")
    demo.add_argument(
        "--entry-every", type=float, default=8.0, help="seconds between new demo entries"
    )
    today = with_config(verbs.add_parser("today", help="print today's summary from the database"))
    today.add_argument("--source", help="only this source id (default: all sources)")
    with_config(verbs.add_parser("check", help="validate config, open the database, call getMe"))
    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(dest="db_verb", required=True, metavar="ACTION")
    with_config(db_verbs.add_parser("upgrade", help="apply database migrations"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.verb == "fetch":
            configure_logging("WARNING")
            return asyncio.run(_fetch(args, sys.stdout))
        if args.verb == "demo":
            from bot.demo import run_demo

            return asyncio.run(
                run_demo(channel=args.channel, language=args.lang, entry_every=args.entry_every)
            )
        settings = load_settings(args.config)
        configure_logging(
            settings.logging.level, settings.logging.format, secrets=[settings.telegram.token]
        )
        if args.verb == "run":
            require_token(settings)
            return asyncio.run(_run(settings))
        if args.verb == "check":
            return asyncio.run(_check(settings))
        if args.verb == "today":
            return asyncio.run(_today(settings, args.source, sys.stdout))
        if args.verb == "db":
            return asyncio.run(_db_upgrade(settings))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_USAGE


async def _run(settings: Settings) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.app import TickerBot, run_until_signalled
    from bot.leader import AlreadyRunning

    try:
        await run_until_signalled(TickerBot(settings))
    except AlreadyRunning as exc:
        print(f"database.url: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InvalidToken:
        print("telegram.token: rejected by Telegram (wrong token or base_url)", file=sys.stderr)
        return EXIT_FAILED
    except NetworkError as exc:
        print(f"telegram.base_url: cannot reach the Bot API ({exc.message})", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


async def _db_upgrade(settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.database import upgrade_database

    try:
        await upgrade_database(settings.database.url)
    except (SQLAlchemyError, OSError) as exc:
        print(f"database.url: cannot migrate ({type(exc).__name__}: {exc})", file=sys.stderr)
        return EXIT_FAILED
    print("database is up to date")
    return EXIT_OK


async def _today(settings: Settings, source_id: str | None, out: TextIO) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.summaries import todays_summaries
    from storage import Storage
    from ticker.summary import render_summary_text

    if source_id is not None and settings.source(source_id) is None:
        known = ", ".join(s.id for s in settings.sources) or "none configured"
        print(f"--source: unknown source {source_id!r} (known: {known})", file=sys.stderr)
        return EXIT_USAGE
    source_ids = [source_id] if source_id else [s.id for s in settings.sources]
    storage = Storage.open(settings.database.url)
    try:
        await storage.database.upgrade()
        summaries = await todays_summaries(storage, settings, source_ids)
    except (SQLAlchemyError, OSError) as exc:
        print(f"database.url: cannot read ({type(exc).__name__}: {exc})", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await storage.close()
    out.write("\n\n".join(render_summary_text(s, settings.defaults.language) for s in summaries))
    out.write("\n")
    return EXIT_OK


async def _check(settings: Settings) -> int:
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    ok = True
    print(f"config: ok ({len(settings.sources)} sources)")
    if await _db_upgrade(settings) != EXIT_OK:
        ok = False
    if not settings.telegram.token:
        print("telegram.token: required (or set TICKERBOT_TELEGRAM_TOKEN)", file=sys.stderr)
        return EXIT_FAILED
    bot = Bot(
        settings.telegram.token,
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
    )
    try:
        async with bot:
            me = await bot.get_me()
        print(f"telegram: ok (@{me.username})")
    except InvalidToken:
        print("telegram.token: rejected by Telegram (wrong token or base_url)", file=sys.stderr)
        ok = False
    except TelegramError as exc:
        print(f"telegram.base_url: getMe failed ({exc.message})", file=sys.stderr)
        ok = False
    return EXIT_OK if ok else EXIT_FAILED


async def _fetch(args: argparse.Namespace, out: TextIO) -> int:
    from ticker.extract import Extractor
    from ticker.fetch import read_local_or_remote
    from ticker.parse import parse_page_async

    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"--timezone: unknown time zone {args.timezone!r}", file=sys.stderr)
        return EXIT_USAGE
    page_date: date | None = None
    if args.date:
        try:
            page_date = date.fromisoformat(args.date)
        except ValueError:
            print(f"--date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
            return EXIT_USAGE
    result = await read_local_or_remote(
        args.target, timeout_seconds=args.timeout, max_bytes=args.max_bytes
    )
    if not result.ok or result.text is None:
        print(f"{args.target}: {result.error or result.status.value}", file=sys.stderr)
        return EXIT_FAILED
    is_url = args.target.startswith(("http://", "https://"))
    options = ParseOptions(
        format=args.format,
        timezone=zone,
        page_date=page_date,
        page_url=result.url if is_url else None,
        end_markers=tuple(args.end_marker),
    )
    parsed = await parse_page_async(result.text, options, result.content_type)
    if not parsed.entries:
        reason = "; ".join(parsed.warnings) or "no ticker entries found"
        print(f"{args.target}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    extractor = await asyncio.to_thread(Extractor.load)
    entries = await asyncio.to_thread(lambda: [extractor.annotate(e) for e in parsed.entries])
    for entry in entries:
        out.write(_entry_json(entry) if args.json else _entry_text(entry, zone))
    return EXIT_OK


def _entry_json(entry: Entry) -> str:
    return (
        json.dumps(
            {
                "key": entry.key,
                "published_at": entry.published_at.isoformat(),
                "headline": entry.headline,
                "body": entry.body,
                "url": entry.url,
                "regions": list(entry.regions),
                "speakers": list(entry.speakers),
            },
            ensure_ascii=False,
        )
        + "\n"
    )


def _entry_text(entry: Entry, zone: ZoneInfo) -> str:
    local = entry.published_at.astimezone(zone)
    lines = [f"{local:%Y-%m-%d %H:%M} {entry.headline}"]
    if entry.regions:
        lines.append(f"  regions: {', '.join(entry.regions)}")
    if entry.speakers:
        lines.append(f"  speakers: {', '.join(entry.speakers)}")
    lines += [f"  {line}" for line in entry.body.splitlines()]
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
