"""Chat commands end to end: the real PTB Application, long polling against the Bot API
double (bot/sandbox/telegram_double.py), and a temporary database.

PTB processes updates one at a time, so after each command the harness sends a "ping" text that
a test-only handler answers: once the pong is there, everything the command caused (replies,
edits, button answers — or deliberate silence) has happened. No sleeps.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.commands import publish_commands, register_handlers
from bot.config import Settings, settings_from_mapping
from bot.sandbox.telegram_double import SentMessage, TelegramDouble
from bot.services import SERVICES_KEY, PollSummary, Services
from storage import Storage
from storage.sources import SourceConfig
from ticker.extract import Extractor
from ticker.model import Entry

TOKEN = "123456:TEST-token"
BOT_USERNAME = "tickerbot_test_bot"
OPERATOR = 9000
USER = 1001
OTHER_USER = 1002
GROUP = -1005001
ADMIN = 2001
MEMBER = 2002
PING_CHAT = 4242
PING = "ping-{}"


async def _pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text
    await context.bot.send_message(PING_CHAT, "pong " + update.effective_message.text)


@dataclass
class Harness:
    app: Application[Any, Any, Any, Any, Any, Any]
    double: TelegramDouble
    storage: Storage
    settings: Settings
    _pings: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _settle(self) -> None:
        """Wait until every update sent so far has been handled (see module docstring)."""
        text = PING.format(next(self._pings))
        self.double.send_text(PING_CHAT, PING_CHAT, text)
        await self.double.wait_for(lambda m: m.chat_id == PING_CHAT and m.text == f"pong {text}")

    def _snapshot(self, chat_id: int) -> tuple[int, dict[int, int]]:
        return len(self.double.sent), {
            m.message_id: len(m.edits) for m in self.double.messages_to(chat_id)
        }

    def _since(self, chat_id: int, snapshot: tuple[int, dict[int, int]]) -> list[str]:
        sent_before, edits_before = snapshot
        texts = [m.text for m in self.double.sent[sent_before:] if m.chat_id == chat_id]
        for message in self.double.messages_to(chat_id):
            texts += [e.text for e in message.edits[edits_before.get(message.message_id, 0) :]]
        return texts

    async def command(
        self, text: str, *, chat_id: int = USER, user_id: int | None = None, as_chat: bool = False
    ) -> str:
        """Send ``text`` as a user; return what the bot answered there ("" for silence)."""
        snapshot = self._snapshot(chat_id)
        sender = None if as_chat else (chat_id if user_id is None else user_id)
        self.double.send_text(chat_id, sender, text, as_chat=as_chat)
        await self._settle()
        return "\n".join(self._since(chat_id, snapshot))

    async def press(self, data: str, *, chat_id: int = USER, user_id: int | None = None) -> str:
        """Press the newest button with ``data``; return the toast, edits and new messages."""
        message = next(
            m
            for m in reversed(self.double.messages_to(chat_id))
            if any(b.get("callback_data") == data for b in m.buttons())
        )
        snapshot = self._snapshot(chat_id)
        user_id = chat_id if user_id is None else user_id
        query_id = self.double.press_button(chat_id, message.message_id, user_id, data)
        answer = await self.double.wait_for_callback_answer(query_id)
        await self._settle()
        return "\n".join([answer.text or "", *self._since(chat_id, snapshot)]).strip()

    def last(self, chat_id: int = USER) -> SentMessage:
        return self.double.messages_to(chat_id)[-1]

    def buttons(self, chat_id: int = USER) -> list[str]:
        return [b["callback_data"] for b in self.last(chat_id).buttons()]


def make_settings(**limits: int) -> Settings:
    return settings_from_mapping(
        {
            "telegram": {"token": TOKEN, "admins": [OPERATOR]},
            "defaults": {"language": "de", "timezone": "Europe/Berlin"},
            "limits": {"command_burst": 1000, "commands_per_minute": 6000, **limits},
            "sources": [
                {"id": "ukraine", "name": "Liveticker Ukraine", "url": "https://example.org/u"},
                {
                    "id": "nahost",
                    "name": "Liveticker Nahost",
                    "url": "https://example.org/n",
                    "default": False,
                },
            ],
        },
        env={},
    )


@pytest.fixture
def limits() -> dict[str, int]:
    return {}


@pytest.fixture
async def double() -> AsyncIterator[TelegramDouble]:
    # Flood limits out of the way: these tests are about answers, not send rates.
    async with TelegramDouble(
        TOKEN,
        bot_username=BOT_USERNAME,
        global_per_second=100_000,
        private_per_second=100_000,
        private_burst=100_000,
        group_per_minute=100_000,
    ) as double:
        for user_id in (USER, OTHER_USER, OPERATOR, PING_CHAT):
            double.add_private_chat(user_id, f"User {user_id}")
        double.add_group(
            GROUP, "Gruppe", "supergroup", admins=[ADMIN], members=[MEMBER], anonymous_admins=[3003]
        )
        yield double


@pytest.fixture
async def bot(
    storage: Storage, double: TelegramDouble, limits: dict[str, int]
) -> AsyncIterator[Harness]:
    settings = make_settings(**limits)
    await storage.sources.sync(
        [SourceConfig(s.id, s.display_name, s.url) for s in settings.sources]
    )

    async def poll_all() -> list[PollSummary]:
        return [
            PollSummary("ukraine", "ok", new=2, pushed=1),
            PollSummary("nahost", "timeout", error="read <timeout>"),
        ]

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(double.base_url)
        .base_file_url(double.base_file_url)
        .build()
    )
    app.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        storage=storage,
        extractor=Extractor.load(),
        poll_all=poll_all,
        wake_sender=lambda: None,
        bot_username=BOT_USERNAME,
    )
    register_handlers(app)
    app.add_handler(MessageHandler(filters.Chat(PING_CHAT) & filters.Regex("^ping-"), _pong))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield Harness(app, double, storage, settings)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    # Stopping the updater confirms the offset while its cancelled long poll is still open on
    # the server side: the double's 409 for that getUpdates is an artefact of shutdown.
    refused = [
        (r.method, r.description)
        for r in double.requests
        if r.status >= 400
        and r.method.lower() != "getupdates"
        # Re-rendering a view that did not change: Telegram's way of saying "already so".
        and "message is not modified" not in (r.description or "")
    ]
    assert refused == [], "Telegram would have refused these requests"
    assert double.unknown_methods == []


T0 = datetime.now(UTC) - timedelta(hours=2)


def entry(key: str, minutes: int, headline: str, regions: tuple[str, ...] = ()) -> Entry:
    return Entry(
        key=key,
        published_at=T0 + timedelta(minutes=minutes),
        headline=headline,
        body=f"Text zu {headline}",
        url=f"https://example.org/u#{key}",
        regions=regions,
    )


# --- start, help, stop, unknown ---------------------------------------------------------


async def test_start_subscribes_to_default_sources_idempotently(bot: Harness) -> None:
    answer = await bot.command("/start")
    assert "Hallo" in answer and "Liveticker Ukraine" in answer and "/latest" in answer
    await bot.command("/start")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.subscriptions == ("ukraine",)


async def test_help_lists_commands_but_not_operator_ones(bot: Harness) -> None:
    answer = await bot.command("/help")
    assert "/subscribe" in answer and "/quiet" in answer and "/stats" not in answer
    assert "/stats" in await bot.command("/help", chat_id=OPERATOR)


async def test_stop_unsubscribes_but_keeps_filters(bot: Harness) -> None:
    await bot.command("/start")
    await bot.command("/keyword Drohne")
    assert "Filter und Einstellungen bleiben" in await bot.command("/stop")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.subscriptions == () and len(chat.filters) == 1


async def test_unknown_command_in_private_chat_points_to_help(bot: Harness) -> None:
    assert "/help" in await bot.command("/frobnicate")
    assert await bot.command("/frobnicate", chat_id=GROUP, user_id=MEMBER) == ""


# --- sources ------------------------------------------------------------------------------


async def test_sources_buttons_toggle(bot: Harness) -> None:
    await bot.command("/start")
    answer = await bot.command("/sources")
    assert "✅ Liveticker Ukraine" in answer and "▫️ Liveticker Nahost" in answer
    datas = bot.buttons()
    assert datas == ["src:t:ukraine", "src:t:nahost"]
    assert all(len(d.encode()) <= 64 for d in datas)
    answer = await bot.press("src:t:nahost")
    assert "Abonniert: Liveticker Nahost" in answer and "✅ Liveticker Nahost" in answer
    await bot.press("src:t:ukraine")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.subscriptions == ("nahost",)


async def test_subscribe_and_unsubscribe(bot: Harness) -> None:
    assert "gültige IDs: ukraine, nahost" in await bot.command("/subscribe mars")
    assert "Abonniert: Liveticker Nahost" in await bot.command("/subscribe nahost")
    assert "Schon abonniert" in await bot.command("/subscribe nahost")
    assert "Abbestellt: Liveticker Nahost" in await bot.command("/unsubscribe nahost")
    assert "gültige IDs" in await bot.command("/unsubscribe mars")
    await bot.command("/subscribe")
    assert bot.buttons() == ["src:s:ukraine", "src:s:nahost"]


# --- latest ---------------------------------------------------------------------------------


async def test_latest_rejects_bad_counts(bot: Harness) -> None:
    await bot.command("/start")
    for bad in ("/latest abc", "/latest 0", "/latest 21", "/latest 1 2"):
        assert "So geht's: /latest" in await bot.command(bad)


async def test_latest_lists_entries_with_filters(bot: Harness) -> None:
    await bot.command("/start")
    assert "Noch keine Einträge" in await bot.command("/latest")
    await bot.storage.entries.ingest(
        "ukraine",
        [
            entry("a", 0, "Angriff auf Charkiw", ("Charkiw",)),
            entry("b", 5, "Lage in Sumy <ruhig>", ("Sumy",)),
            entry("c", 9, "Drohnen über Charkiw", ("Charkiw",)),
        ],
    )
    answer = await bot.command("/latest 2")
    assert "Drohnen über Charkiw" in answer and "&lt;ruhig&gt;" in answer
    assert "Angriff" not in answer
    assert answer.index("Sumy") < answer.index("Drohnen")  # oldest first, newest at the bottom
    assert bot.last().link_preview_disabled and bot.last().parse_mode == "HTML"
    await bot.command("/region Charkow")
    answer = await bot.command("/latest")
    assert "Angriff auf Charkiw" in answer and "Sumy" not in answer


# --- pushes ---------------------------------------------------------------------------------


async def test_pause_and_resume(bot: Harness) -> None:
    await bot.command("/start")
    assert "nichts vorgemerkt" in await bot.command("/pause")
    assert "schon pausiert" in await bot.command("/pause")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.paused
    assert "Weiter" in await bot.command("/resume")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and not chat.paused


async def test_quiet_hours_are_validated_and_stored(bot: Harness) -> None:
    for bad in ("/quiet", "/quiet 25:00-07:00", "/quiet 22:00", "/quiet 08:00-08:00"):
        assert "So geht's: /quiet" in await bot.command(bad)
    assert "22:00–07:00" in await bot.command("/quiet 22:00-07:00")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and (chat.quiet_start, chat.quiet_end) == (1320, 420)
    assert "Ruhezeit aus" in await bot.command("/quiet off")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.quiet_start is None


async def test_digest(bot: Harness) -> None:
    assert "So geht's: /digest" in await bot.command("/digest later")
    assert "20:30" in await bot.command("/digest 20:30")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.digest_minute == 20 * 60 + 30
    assert "aus" in await bot.command("/digest off")


async def test_lang_switches_the_language_of_replies(bot: Harness) -> None:
    assert "So geht's: /lang" in await bot.command("/lang fr")
    assert "English" in await bot.command("/lang en")
    assert "Usage: /quiet" in await bot.command("/quiet")
    assert "<b>Commands</b>" in await bot.command("/help")
    assert "Deutsch" in await bot.command("/lang de")


async def test_settings_show_everything(bot: Harness) -> None:
    await bot.command("/start")
    await bot.command("/keyword <Drohne>")
    await bot.command("/quiet 22:00-07:00")
    await bot.command("/digest 08:00")
    await bot.command("/pause")
    answer = await bot.command("/settings")
    for part in (
        "Liveticker Ukraine",
        "Stichwort: &lt;Drohne&gt;",
        "pausiert",
        "22:00–07:00",
        "08:00",
        "Deutsch",
    ):
        assert part in answer


# --- filters --------------------------------------------------------------------------------


async def test_region_resolves_to_canonical_name(bot: Harness) -> None:
    answer = await bot.command("/region Charkow")
    assert "Region: Charkiw" in answer and "noch kein Eintrag" in answer
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and [(f.kind, f.value, f.display) for f in chat.filters] == [
        ("region", "charkiw", "Charkiw")
    ]
    assert "gibt es schon" in await bot.command("/region kharkiv")
    assert "So geht's: /region" not in await bot.command("/region Atlantis")


async def test_region_note_only_when_nothing_matched_yet(bot: Harness) -> None:
    await bot.storage.entries.ingest("ukraine", [entry("a", 0, "Charkiw", ("Charkiw",))])
    assert "noch kein Eintrag" not in await bot.command("/region Charkiw")


async def test_region_alone_offers_recent_regions_as_buttons(bot: Harness) -> None:
    assert "keine Region" in await bot.command("/region")
    await bot.storage.entries.ingest("ukraine", [entry("a", 0, "Charkiw", ("Charkiw",))])
    await bot.command("/region")
    assert bot.buttons() == ["flt:r:Charkiw"]
    assert "Region: Charkiw" in await bot.press("flt:r:Charkiw")


async def test_speaker_uses_the_speaker_key(bot: Harness) -> None:
    assert "kein Sprecher" in await bot.command("/speaker")
    answer = await bot.command("/speaker Maria Sacharowa")
    assert "Sprecher: Maria Sacharowa" in answer
    chat = await bot.storage.chats.get(USER)
    assert chat is not None and chat.filters[0].value == Extractor.load().speaker_key("Sacharowa")


async def test_keyword_and_exclude(bot: Harness) -> None:
    assert "So geht's: /keyword" in await bot.command("/keyword")
    assert "So geht's: /exclude" in await bot.command('/exclude ""')
    assert "Stichwort: Drohnen Angriff" in await bot.command('/keyword "Drohnen  Angriff"')
    assert "Ausschluss: Sport" in await bot.command("/exclude Sport")
    chat = await bot.storage.chats.get(USER)
    assert chat is not None
    assert [(f.kind, f.value) for f in chat.filters] == [
        ("keyword", "drohnen angriff"),
        ("exclude", "sport"),
    ]


async def test_filters_remove_button_and_clear(bot: Harness) -> None:
    assert "Keine Filter" in await bot.command("/filters")
    await bot.command("/keyword Drohne")
    await bot.command("/exclude Sport")
    await bot.command("/filters")  # an older list, whose button goes stale below
    answer = await bot.command("/filters")
    assert "Stichwort: Drohne" in answer and "Ausschluss: Sport" in answer
    buttons = bot.buttons()
    assert all(d.startswith("flt:rm:") for d in buttons) and len(buttons) == 2
    answer = await bot.press(buttons[0])
    toast, edited = answer.split("\n", 1)
    assert toast == "Filter entfernt – Stichwort: Drohne"
    assert "Drohne" not in edited and "Sport" in edited and bot.buttons() == buttons[1:]
    assert "nicht mehr" in await bot.press(buttons[0])  # the older list still shows it
    assert "1 Filter entfernt" in await bot.command("/clear")
    assert "keine Filter" in await bot.command("/clear")


@pytest.mark.parametrize("limits", [{"max_filters_per_chat": 2, "max_filter_length": 10}])
async def test_filter_limits_are_refused_clearly(bot: Harness) -> None:
    await bot.command("/keyword eins")
    await bot.command("/keyword zwei")
    assert "Mehr als 2 Filter" in await bot.command("/keyword drei")
    assert "höchstens 10 Zeichen" in await bot.command("/exclude Donaudampfschifffahrt")


# --- groups ---------------------------------------------------------------------------------


async def test_group_non_admin_refused_admin_allowed(bot: Harness) -> None:
    answer = await bot.command("/start", user_id=MEMBER, chat_id=GROUP)
    assert "Hallo" in answer and "nur Admins" in answer
    chat = await bot.storage.chats.get(GROUP)
    assert chat is not None and chat.subscriptions == ()
    assert "nur Admins" in await bot.command("/keyword Drohne", user_id=MEMBER, chat_id=GROUP)
    assert "nur Admins" in await bot.command("/lang en", user_id=MEMBER, chat_id=GROUP)
    assert "Quellen" in await bot.command("/sources", user_id=ADMIN, chat_id=GROUP)
    assert "nur Admins" in await bot.press("src:t:ukraine", user_id=MEMBER, chat_id=GROUP)
    assert "So geht's: /latest" in await bot.command("/latest x", user_id=MEMBER, chat_id=GROUP)
    chat = await bot.storage.chats.get(GROUP)
    assert chat is not None and chat.filters == () and chat.language is None
    assert "Filter hinzugefügt" in await bot.command(
        "/keyword Drohne", user_id=ADMIN, chat_id=GROUP
    )
    assert "Abonniert" in await bot.command("/start", user_id=ADMIN, chat_id=GROUP)
    assert "Abbestellt" in await bot.press("src:t:ukraine", user_id=ADMIN, chat_id=GROUP)


async def test_group_commands_addressed_to_other_bots_are_ignored(bot: Harness) -> None:
    assert "Befehle" in await bot.command(f"/help@{BOT_USERNAME}", chat_id=GROUP, user_id=MEMBER)
    assert await bot.command("/help@otherbot", chat_id=GROUP, user_id=MEMBER) == ""


async def test_anonymous_admin_is_allowed(bot: Harness) -> None:
    answer = await bot.command("/pause", chat_id=GROUP, as_chat=True)
    assert "Pausiert" in answer


async def test_admin_answers_are_cached(bot: Harness) -> None:
    for _ in range(3):
        await bot.command("/settings", chat_id=GROUP, user_id=ADMIN)
    assert len(bot.double.calls("getChatMember")) == 1


# --- operators ------------------------------------------------------------------------------


async def test_stats_only_for_operators(bot: Harness) -> None:
    assert "nur die Betreiber" in await bot.command("/stats")
    await bot.command("/start")
    answer = await bot.command("/stats", chat_id=OPERATOR)
    for part in ("Chats: 2 aktiv", "Abos: 1", "Einträge: 0", "Warteschlange: 0", "ukraine"):
        assert part in answer


async def test_poll_reports_per_source(bot: Harness) -> None:
    assert "nur die Betreiber" in await bot.command("/poll")
    answer = await bot.command("/poll", chat_id=OPERATOR)
    assert "ukraine</code>: ok, neu 2" in answer and "read &lt;timeout&gt;" in answer


# --- abuse ----------------------------------------------------------------------------------


@pytest.mark.parametrize("limits", [{"command_burst": 5, "commands_per_minute": 1}])
async def test_throttle_one_slow_down_reply_and_others_unaffected(bot: Harness) -> None:
    answers = [await bot.command("/help") for _ in range(100)]
    assert sum("<b>Befehle</b>" in a for a in answers) == 5
    assert sum("Langsam" in a for a in answers) == 1
    assert answers[5:].count("") == 94
    assert "<b>Befehle</b>" in await bot.command("/help", chat_id=USER + 1)


# --- menu and failures ------------------------------------------------------------------------


async def test_publish_commands_per_language_without_operator_commands(bot: Harness) -> None:
    await publish_commands(bot.app.bot, operators=[OPERATOR])
    default = json.dumps({"type": "default"}, sort_keys=True)
    english = [c["command"] for c in bot.double.commands[(default, "")]]
    german = bot.double.commands[(default, "de")]
    assert "start" in english and "latest" in english and "stats" not in english
    assert [c["command"] for c in german] == english
    assert any("Abonniert" in c["description"] or "abonnieren" in c["description"] for c in german)
    operator = json.dumps({"type": "chat", "chat_id": OPERATOR}, sort_keys=True)
    assert "stats" in [c["command"] for c in bot.double.commands[(operator, "")]]


async def test_a_failing_handler_still_answers(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(bot.storage.chats, "clear_filters", broken)
    assert "schiefgegangen" in await bot.command("/clear")
