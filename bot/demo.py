"""`tickerbot demo`: the whole product offline, with the terminal as the chat.

In one process, on 127.0.0.1 only: the Bot API double, a local ticker site (the bundled seed
page plus a live page that gains an entry every few seconds and corrects one now and then),
and the real bot (``TickerBot``, exactly what ``tickerbot run`` starts) on a temporary SQLite
database. The user types as a Telegram user would; the bot's replies, pushes and edits are
printed readably, buttons can be pressed by number.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TextIO

from bot.app import TickerBot
from bot.config import settings_from_mapping
from bot.logging_setup import configure_logging
from bot.sandbox.sample_feed import SampleEntry, sample_entries
from bot.sandbox.telegram_double import SentMessage, TelegramDouble
from bot.sandbox.terminal import buttons_of, format_message, html_to_terminal
from bot.sandbox.ticker_site import SiteEntry, TickerSite

DEMO_TOKEN = "4242424242:DEMO-offline-token-not-a-real-one"
BOT_USERNAME = "tickerbot_demo_bot"
USER_ID = 10_001
CHANNEL_ID = -1_001_234_567_890
CHANNEL_USERNAME = "demo_kanal"
SEED_END_MARKER = "Durch die Sperrung von RT"

INTRO = """\
tickerbot demo — everything runs offline on 127.0.0.1; this terminal is your Telegram chat.
A live ticker gains an entry every {every:g} s (and corrects one now and then).
Try: /start  /region Belgorod  /speaker Sacharowa  /latest  /today  /search Drohne
     @{bot} Charkiw (inline)  /settings  /lang en  /help
A number presses a button of the last message. Ctrl-C or Ctrl-D ends the demo.
"""
CHANNEL_INTRO = "You administer the channel @{channel}: bind it with /channel @{channel}\n"


def _seed_text() -> str:
    return resources.files("bot.sandbox").joinpath("data/liveticker_seed_de.txt").read_text("utf-8")


class DemoTicker:
    """Feeds the live page: a new sample entry per tick, every third tick a correction."""

    def __init__(self, site: TickerSite) -> None:
        self._site = site
        self._samples = sample_entries()
        self._correctable: list[tuple[SiteEntry, SampleEntry]] = []
        self._ticks = 0

    def tick(self) -> None:
        self._ticks += 1
        if self._ticks % 3 == 0 and self._correctable:
            entry, sample = self._correctable.pop(0)
            assert sample.correction is not None
            self._site.correct(entry, sample.correction)
            return
        sample = next(self._samples)
        entry = self._site.add(sample.headline, sample.body)
        if sample.correction is not None:
            self._correctable.append((entry, sample))


class TerminalChat:
    """Prints what the bot sends to the user (and to the demo channel) as it happens."""

    def __init__(self, out: TextIO, color: bool) -> None:
        self._out = out
        self._color = color
        self.last_with_buttons: SentMessage | None = None

    def on_event(self, kind: str, message: SentMessage) -> None:
        if message.chat_id == USER_ID:
            prefix = "bot"
        elif message.chat_id == CHANNEL_ID:
            prefix = f"@{CHANNEL_USERNAME}"
        else:
            return
        if kind == "deleted":
            return
        text = message.edits[-1].text if kind == "edited" and message.edits else message.text
        markup = message.edits[-1].reply_markup if kind == "edited" and message.edits else None
        markup = markup if markup is not None else message.reply_markup
        if buttons_of(markup) and message.chat_id == USER_ID:
            self.last_with_buttons = message
        block = format_message(
            f"{prefix} ▸", text, markup, color=self._color, edited=kind == "edited"
        )
        self.write(block + "\n")

    def write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _start_reader(stream: TextIO, queue: asyncio.Queue[str | None]) -> None:
    """stdin in a daemon thread: a blocking readline must not stall the bot's event loop,
    and must not keep the process alive after Ctrl-C (an executor thread would)."""
    loop = asyncio.get_running_loop()

    def read() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()


async def _inline(double: TelegramDouble, chat: TerminalChat, query: str) -> None:
    query_id = double.inline_query(USER_ID, query)
    try:
        answer = await double.wait_for_inline_answer(query_id, timeout=10)
    except TimeoutError:
        chat.write("(no inline answer)")
        return
    if not answer.results:
        chat.write(f"inline ▸ no results for {query!r}")
        return
    lines = [f"inline ▸ {len(answer.results)} results for {query!r}:"]
    for number, result in enumerate(answer.results, start=1):
        title = result.get("title", "")
        description = result.get("description", "")
        lines.append(f"  {number}. {title}" + (f" — {description}" if description else ""))
    chat.write("\n".join(lines))


async def _handle_line(
    line: str, double: TelegramDouble, chat: TerminalChat, say: Callable[[str], None]
) -> None:
    text = line.strip()
    if not text:
        return
    if text.isdigit() and chat.last_with_buttons is not None:
        buttons = buttons_of(chat.last_with_buttons.reply_markup)
        index = int(text) - 1
        if 0 <= index < len(buttons) and "callback_data" in buttons[index]:
            double.press_button(
                USER_ID,
                chat.last_with_buttons.message_id,
                USER_ID,
                buttons[index]["callback_data"],
            )
        else:
            say(f"(no button {text})")
        return
    if text.startswith("@"):
        mention, _, query = text.partition(" ")
        if mention.lstrip("@") in (BOT_USERNAME, "bot"):
            await _inline(double, chat, query.strip())
            return
    double.send_text(USER_ID, USER_ID, text)


async def run_demo(
    *,
    channel: bool = False,
    language: str = "de",
    entry_every: float = 8.0,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    color = stdout.isatty()
    configure_logging("ERROR", secrets=[DEMO_TOKEN])
    with tempfile.TemporaryDirectory(prefix="tickerbot-demo-") as workdir:
        double = TelegramDouble(DEMO_TOKEN, bot_username=BOT_USERNAME, bot_name="Tickerbot Demo")
        site = TickerSite("Liveticker Ukraine-Krieg (Demo)")
        await double.start()
        await site.start()
        chat = TerminalChat(stdout, color)
        double.listeners.append(chat.on_event)
        double.add_private_chat(USER_ID, "Du", language_code=language)
        if channel:
            double.add_channel(
                CHANNEL_ID, CHANNEL_USERNAME, "Demo-Kanal", admins={USER_ID: "creator"}
            )
        ticker = DemoTicker(site)
        ticker.tick()
        seed_url = site.serve_static("seed.txt", _seed_text())
        settings = settings_from_mapping(
            {
                "telegram": {
                    "token": DEMO_TOKEN,
                    "base_url": double.base_url,
                    "base_file_url": double.base_file_url,
                    "poll_timeout_seconds": 1,
                    "admins": [USER_ID],
                },
                "database": {"url": f"sqlite+aiosqlite:///{Path(workdir) / 'demo.db'}"},
                "defaults": {"language": language},
                "logging": {"level": "ERROR"},
                "sources": [
                    {
                        "id": "live",
                        "name": "Liveticker Ukraine-Krieg (Demo)",
                        "url": site.url,
                        "interval_seconds": 2,
                    },
                    {
                        "id": "seed",
                        "name": "Liveticker Ukraine-Krieg (21.01.2026)",
                        "url": seed_url,
                        "format": "text",
                        "interval_seconds": 300,
                        "default": False,
                        "end_markers": [SEED_END_MARKER],
                    },
                ],
            },
            env={},
        )
        bot = TickerBot(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await bot.start()
        chat.write(INTRO.format(every=entry_every, bot=BOT_USERNAME))
        if channel:
            chat.write(CHANNEL_INTRO.format(channel=CHANNEL_USERNAME))
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        _start_reader(stdin, lines)

        async def feed() -> None:
            while True:
                await asyncio.sleep(entry_every)
                ticker.tick()

        feeder = asyncio.create_task(feed())
        stopper = asyncio.create_task(stop.wait())
        try:
            while True:
                getter = asyncio.create_task(lines.get())
                done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    getter.cancel()
                    break
                line = getter.result()
                if line is None:
                    break
                await _handle_line(line, double, chat, chat.write)
        finally:
            for task in (feeder, stopper):
                task.cancel()
            await bot.stop()
            await site.stop()
            await double.stop()
            chat.write("demo ended.")
    return 0


__all__ = ["html_to_terminal", "run_demo"]
