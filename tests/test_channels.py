"""Groups and channels (issue 6): /channel binding and management from a private chat, the
bot's own membership (my_chat_member), group→supergroup service messages.

Same harness as tests/test_handlers_commands.py (real PTB Application against the Bot API
double, a ping/pong to know every update was handled — no sleeps). Its teardown check is
relaxed in one way only: getChat/getChatMember may be refused, because probing a channel the
bot cannot see is exactly what some of these tests do. A refused sendMessage still fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram.ext import Application, MessageHandler, filters

from bot.commands import register_handlers
from bot.sandbox.telegram_double import TelegramDouble
from bot.services import SERVICES_KEY, PollSummary, Services
from handlers.channels import parse_reference
from handlers.context import CHANNEL_ADMIN_CACHE_KEY
from handlers.permissions import CHANNEL_ADMIN_CACHE_SECONDS, AdminCache
from storage import Storage
from storage.outbox import SendOutcome
from storage.sources import SourceConfig
from tests.test_handlers_commands import (
    ADMIN,
    BOT_USERNAME,
    GROUP,
    MEMBER,
    OTHER_USER,
    PING_CHAT,
    TOKEN,
    USER,
    Harness,
    _pong,
    entry,
    make_settings,
)
from ticker.extract import Extractor

CHANNEL = -1009001
CHANNEL_NAME = "kanal_test"
CHANNEL_TITLE = "Mein Kanal"
OTHER_CHANNEL = -1009002
SMALL_GROUP = -4001
NEW_SUPERGROUP = -1004001
PROBES = {"getchat", "getchatmember"}


class Clock:
    """A monotonic clock the test moves: admin-cache expiry without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def double() -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble(
        TOKEN,
        bot_username=BOT_USERNAME,
        global_per_second=100_000,
        private_per_second=100_000,
        private_burst=100_000,
        group_per_minute=100_000,
    ) as double:
        for user_id in (USER, OTHER_USER, PING_CHAT):
            double.add_private_chat(user_id, f"User {user_id}")
        double.add_group(
            GROUP, "Gruppe", "supergroup", admins=[ADMIN], members=[MEMBER], anonymous_admins=[3003]
        )
        double.add_channel(
            CHANNEL, CHANNEL_NAME, CHANNEL_TITLE, admins={USER: "creator", ADMIN: "administrator"}
        )
        yield double


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(storage: Storage, double: TelegramDouble, clock: Clock) -> AsyncIterator[Harness]:
    settings = make_settings()
    await storage.sources.sync(
        [SourceConfig(s.id, s.display_name, s.url) for s in settings.sources]
    )

    async def poll_all() -> list[PollSummary]:
        return []

    app: Application[Any, Any, Any, Any, Any, Any] = (
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
    app.bot_data[CHANNEL_ADMIN_CACHE_KEY] = AdminCache(CHANNEL_ADMIN_CACHE_SECONDS, clock=clock)
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
    refused = [
        (r.method, r.description)
        for r in double.requests
        if r.status >= 400
        and r.method.lower() != "getupdates"
        and r.method.lower() not in PROBES
        and "message is not modified" not in (r.description or "")
    ]
    assert refused == [], "Telegram would have refused these requests"
    assert double.unknown_methods == []


async def settle(bot: Harness) -> None:
    await bot._settle()


async def bind(bot: Harness, user: int = USER) -> str:
    return await bot.command(f"/channel @{CHANNEL_NAME}", chat_id=user)


def demote_update(double: TelegramDouble, chat_id: int, by_user_id: int) -> None:
    """The bot stays an administrator but loses "Post messages".

    ``TelegramDouble.my_chat_member`` always reports full rights, so the update is built here
    the way Telegram sends it (test-only use of the double's update queue).
    """
    double.set_chat_member(chat_id, double.bot_id, "administrator", can_post_messages=False)
    bot_user = double.bot_user.json()
    rights = {
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": True,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": True,
        "can_invite_users": True,
        "can_post_stories": True,
        "can_edit_stories": True,
        "can_delete_stories": True,
        "can_edit_messages": True,
    }
    chat = {"id": chat_id, "type": "channel", "title": CHANNEL_TITLE, "username": CHANNEL_NAME}
    double._enqueue(
        "my_chat_member",
        {
            "chat": chat,
            "from": {"id": by_user_id, "is_bot": False, "first_name": "Admin"},
            "date": 1_700_000_000,
            "old_chat_member": {
                "status": "administrator",
                "user": bot_user,
                **rights,
                "can_post_messages": True,
            },
            "new_chat_member": {
                "status": "administrator",
                "user": bot_user,
                **rights,
                "can_post_messages": False,
            },
        },
    )


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@kanal_test", "@kanal_test"),
        ("https://t.me/kanal_test", "@kanal_test"),
        ("t.me/kanal_test/", "@kanal_test"),
        ("-1001234567890", -1001234567890),
        ("kanal_test", None),
        ("@ab", None),
        ("1234", None),
        ("off", None),
    ],
)
def test_channel_references(text: str, expected: int | str | None) -> None:
    assert parse_reference(text) == expected


# --- binding -------------------------------------------------------------------------------


async def test_creator_binds_channel_and_it_is_subscribed(bot: Harness) -> None:
    answer = await bind(bot)
    assert "Mein Kanal" in answer and "gebunden" in answer and "Liveticker Ukraine" in answer
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.type == "channel" and channel.active
    assert channel.subscriptions == ("ukraine",) and channel.username == CHANNEL_NAME
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id == CHANNEL
    assert private.subscriptions == ()


async def test_administrator_binds_by_numeric_id(bot: Harness) -> None:
    bot.double.add_private_chat(ADMIN, "Admin")
    answer = await bot.command(f"/channel {CHANNEL}", chat_id=ADMIN)
    assert "gebunden" in answer
    links = await bot.storage.chats.channel_links(ADMIN)
    assert [(link.channel.id, link.bound) for link in links] == [(CHANNEL, True)]


async def test_non_admin_is_refused_with_the_reason(bot: Harness) -> None:
    answer = await bind(bot, OTHER_USER)
    assert "kann ich noch nicht binden" in answer
    assert "weder Ersteller noch Admin" in answer and "Ich bin dort" not in answer
    assert await bot.storage.chats.get(CHANNEL) is None
    other = await bot.storage.chats.get(OTHER_USER)
    assert other is not None and other.managing_chat_id is None


async def test_bot_without_post_right_is_refused_with_the_fix(bot: Harness) -> None:
    bot.double.add_channel(
        OTHER_CHANNEL, "stumm", "Stummer Kanal", admins={USER: "creator"}, bot_can_post=False
    )
    answer = await bot.command("/channel @stumm")
    assert "darf aber nicht posten" in answer and "Nachrichten posten" in answer
    assert "weder Ersteller" not in answer
    assert await bot.storage.chats.get(OTHER_CHANNEL) is None


async def test_bot_not_admin_and_user_not_admin_both_named(bot: Harness) -> None:
    bot.double.add_channel(
        OTHER_CHANNEL, "fremd", "Fremder Kanal", admins={ADMIN: "creator"}, bot_status="member"
    )
    answer = await bot.command("/channel @fremd")
    assert f"@{BOT_USERNAME}" in answer and "kein Admin" in answer
    assert "weder Ersteller noch Admin" in answer


async def test_bot_not_in_channel_unknown_name_and_groups_are_refused(bot: Harness) -> None:
    bot.double.add_channel(OTHER_CHANNEL, "ohne", "Ohne Bot", {USER: "creator"}, bot_status="left")
    assert "keinen Zugriff" in await bot.command("/channel @ohne")
    assert "finde ich nicht" in await bot.command("/channel @gibtsnicht")
    assert "ist kein Kanal" in await bot.command(f"/channel {GROUP}")
    assert "So geht's: /channel" in await bot.command("/channel kanal_test")
    assert "nur im privaten Chat" in await bot.command("/channel", chat_id=GROUP, user_id=ADMIN)
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id is None


# --- managing ------------------------------------------------------------------------------


async def test_commands_manage_the_channel_and_every_reply_names_it(bot: Harness) -> None:
    await bind(bot)
    header = "⚙️ Kanal „Mein Kanal“"
    for command, expected in [
        ("/keyword Drohne", "Filter hinzugefügt"),
        ("/subscribe nahost", "Abonniert: Liveticker Nahost"),
        ("/quiet 22:00-07:00", "Ruhezeit 22:00–07:00"),
        ("/digest 20:00", "um 20:00"),
        ("/pause", "Pausiert"),
        ("/resume", "Weiter geht's"),
        ("/filters", "Stichwort: Drohne"),
        ("/settings", "Liveticker Nahost"),
        ("/latest", "Noch keine Einträge"),
    ]:
        answer = await bot.command(command)
        assert answer.startswith(header), (command, answer)
        assert expected in answer, (command, answer)
    assert bot.double.messages_to(CHANNEL) == [], "answers go to the private chat"
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None
    assert channel.subscriptions == ("nahost", "ukraine")
    assert [f.value for f in channel.filters] == ["drohne"]
    assert channel.quiet_start == 22 * 60 and channel.digest_minute == 20 * 60
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.filters == () and private.quiet_start is None
    # buttons act on the managed chat too, and their edits keep the header
    await bot.command("/sources")
    pressed = await bot.press("src:t:nahost")
    assert header in pressed and "Abbestellt" in pressed
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.subscriptions == ("ukraine",)
    # /lang changes the channel's language; the header follows it
    answer = await bot.command("/lang en")
    assert answer.startswith("⚙️ Channel “Mein Kanal”") and "English" in answer


async def test_latest_while_managing_uses_the_channels_filters(bot: Harness) -> None:
    await bot.storage.entries.ingest(
        "ukraine",
        [entry("a", 1, "Lage in Charkiw", ("Charkiw",)), entry("b", 2, "Lage in Sumy")],
    )
    await bind(bot)
    await bot.storage.chats.add_filter(CHANNEL, "keyword", "sumy", "Sumy", max_filters=10)
    answer = await bot.command("/latest")
    assert "Lage in Sumy" in answer and "Charkiw" not in answer


async def test_channel_off_returns_to_the_private_chat(bot: Harness) -> None:
    await bind(bot)
    answer = await bot.command("/channel off")
    assert "wieder diesem Chat" in answer
    answer = await bot.command("/keyword Drohne")
    assert "⚙️" not in answer and "Filter hinzugefügt" in answer
    private = await bot.storage.chats.get(USER)
    channel = await bot.storage.chats.get(CHANNEL)
    assert private is not None and [f.value for f in private.filters] == ["drohne"]
    assert channel is not None and channel.filters == () and channel.active
    assert "verwaltest gerade keinen" in await bot.command("/channel off")


async def test_help_and_channel_stay_in_the_private_chat(bot: Harness) -> None:
    await bind(bot)
    assert (await bot.command("/help")).startswith("<b>Befehle</b>")
    assert "/channel" in await bot.command("/help")
    listing = await bot.command("/channel")
    assert listing.startswith("<b>Deine Kanäle</b>") and "wird gerade verwaltet" in listing


async def test_user_who_lost_admin_rights_can_no_longer_manage(bot: Harness, clock: Clock) -> None:
    await bind(bot)
    assert "Filter hinzugefügt" in await bot.command("/keyword Drohne")
    bot.double.set_chat_member(CHANNEL, USER, "member")
    clock.now += CHANNEL_ADMIN_CACHE_SECONDS + 1
    for command in ("/keyword Sumy", "/pause", "/settings", "/latest"):
        answer = await bot.command(command)
        assert "kein Admin des Kanals „Mein Kanal“ mehr" in answer, command
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and [f.value for f in channel.filters] == ["drohne"]
    assert not channel.paused
    assert "wieder diesem Chat" in await bot.command("/channel off")


async def test_rights_are_rechecked_after_the_short_ttl_only(bot: Harness, clock: Clock) -> None:
    await bind(bot)
    before = len(bot.double.calls("getChatMember"))
    for _ in range(3):
        await bot.command("/settings")
    assert len(bot.double.calls("getChatMember")) == before, "binding primed the cache"
    clock.now += CHANNEL_ADMIN_CACHE_SECONDS + 1
    await bot.command("/settings")
    assert len(bot.double.calls("getChatMember")) == before + 1


async def test_list_offers_buttons_to_switch_and_to_bind_what_the_user_added(
    bot: Harness,
) -> None:
    bot.double.add_channel(OTHER_CHANNEL, "zweiter", "Zweiter Kanal", admins={USER: "creator"})
    assert "noch keinen Kanal" in await bot.command("/channel")
    # the bot is added to the second channel by USER: recorded, USER gets a bind button
    bot.double.my_chat_member(OTHER_CHANNEL, "left", "administrator", USER)
    await settle(bot)
    hint = bot.last()
    assert "Zweiter Kanal" in hint.text and hint.buttons()[0]["callback_data"] == (
        f"chn:b:{OTHER_CHANNEL}"
    )
    await bind(bot)
    listing = await bot.command("/channel")
    assert "Mein Kanal – wird gerade verwaltet" in listing
    assert "Zweiter Kanal – von dir hinzugefügt, noch nicht gebunden" in listing
    assert bot.buttons() == [f"chn:b:{OTHER_CHANNEL}", "chn:off"]
    answer = await bot.press(f"chn:b:{OTHER_CHANNEL}")
    assert "Kanal „Zweiter Kanal“ ist gebunden" in answer
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id == OTHER_CHANNEL
    await bot.command("/channel")
    assert bot.buttons() == [f"chn:m:{CHANNEL}", "chn:off"]
    answer = await bot.press(f"chn:m:{CHANNEL}")
    assert "Verwaltet jetzt: Mein Kanal" in answer
    assert (await bot.command("/pause")).startswith("⚙️ Kanal „Mein Kanal“")
    answer = await bot.press("chn:off")
    assert "wieder diesem Chat" in answer
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id is None


async def test_remove_unbinds_and_ends_the_subscriptions(bot: Harness) -> None:
    await bind(bot)
    bot.double.add_private_chat(ADMIN, "Admin")
    refused = await bot.command(f"/channel remove @{CHANNEL_NAME}", chat_id=OTHER_USER)
    assert "Nur Admins des Kanals „Mein Kanal“" in refused
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.active and channel.subscriptions == ("ukraine",)
    answer = await bot.command("/channel remove @Kanal_Test")  # names are case-insensitive
    assert "Bindung gelöst" in answer and "Liveticker Ukraine" in answer
    assert "wieder diesem Chat" in answer
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.subscriptions == () and not channel.active
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id is None
    assert "nicht gebunden" in await bot.command(f"/channel remove @{CHANNEL_NAME}")
    # binding again works and reactivates it
    assert "gebunden" in await bind(bot)
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.active and channel.subscriptions == ("ukraine",)


# --- the bot's membership --------------------------------------------------------------------


async def test_bot_removed_from_channel_deactivates_and_tells_the_binder_once(
    bot: Harness,
) -> None:
    await bind(bot)
    bot.double.kick_bot(CHANNEL, by_user_id=ADMIN)
    await settle(bot)
    told = [m for m in bot.double.messages_to(USER) if "entfernt" in m.text]
    assert len(told) == 1 and "Mein Kanal" in told[0].text
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and not channel.active
    private = await bot.storage.chats.get(USER)
    assert private is not None and private.managing_chat_id is None
    # the same news again (a repeated update): nobody is told twice
    bot.double.my_chat_member(CHANNEL, "administrator", "left", ADMIN)
    await settle(bot)
    assert len([m for m in bot.double.messages_to(USER) if "entfernt" in m.text]) == 1
    # the user's commands act on their own chat again; the listing shows the lost channel
    assert "⚙️" not in await bot.command("/settings")
    assert "ich kann dort nicht mehr posten" in await bot.command("/channel")
    # /channel remove still works although Telegram no longer answers about the channel
    assert "Bindung gelöst" in await bot.command(f"/channel remove {CHANNEL}")


async def test_losing_the_channel_drops_what_was_queued_for_it(bot: Harness) -> None:
    await bind(bot)
    await bot.storage.entries.ingest("ukraine", [entry("a", 1, "Erster Abruf")])  # stored only
    await bot.storage.entries.ingest("ukraine", [entry("b", 2, "Neue Meldung")])
    # the claim turns the fan-out into a delivery; a failed send puts it back in the queue
    token, batches = await bot.storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert [(b.chat.id, [i.entry.key for i in b.items]) for b in batches] == [(CHANNEL, ["b"])]
    await bot.storage.outbox.record_outcomes(
        [SendOutcome(batches[0].delivery_ids, token, retry_at=datetime.now(UTC))]
    )
    assert await bot.storage.outbox.pending_count() == (1, 0)
    bot.double.kick_bot(CHANNEL, by_user_id=ADMIN)
    await settle(bot)
    assert await bot.storage.outbox.pending_count() == (0, 0)
    await bot.storage.entries.ingest("ukraine", [entry("c", 3, "Danach")])
    assert await bot.storage.outbox.fanouts_pending() == 1
    _, batches = await bot.storage.outbox.claim_batches(max_chats=10, batch_max_entries=5)
    assert batches == [], "an inactive channel gets nothing"
    assert await bot.storage.outbox.fanouts_pending() == 0


async def test_bot_demoted_in_channel_is_treated_as_removed(bot: Harness) -> None:
    await bind(bot)
    demote_update(bot.double, CHANNEL, ADMIN)
    await settle(bot)
    assert len([m for m in bot.double.messages_to(USER) if "entfernt" in m.text]) == 1
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and not channel.active
    # promoted again: active with the same subscriptions, the adder hears it is back
    bot.double.set_chat_member(CHANNEL, bot.double.bot_id, "administrator")
    bot.double.my_chat_member(CHANNEL, "left", "administrator", USER)
    await settle(bot)
    channel = await bot.storage.chats.get(CHANNEL)
    assert channel is not None and channel.active and channel.subscriptions == ("ukraine",)
    assert "wieder posten" in bot.last().text


async def test_managed_channel_that_went_inactive_is_refused(bot: Harness) -> None:
    await bind(bot)
    await bot.storage.chats.deactivate(CHANNEL, "forbidden: bot was kicked")
    answer = await bot.command("/pause")
    assert "nicht mehr posten" in answer and "Pausiert" not in answer


async def test_bot_added_to_group_greets_and_removed_goes_silent(bot: Harness) -> None:
    bot.double.add_group(SMALL_GROUP, "Kleine Gruppe", admins=[ADMIN], bot_status="left")
    bot.double.my_chat_member(SMALL_GROUP, "left", "member", ADMIN)
    await settle(bot)
    greeting = bot.last(SMALL_GROUP).text
    assert "Hallo" in greeting and f"/start@{BOT_USERNAME}" in greeting
    assert "nur Admins" in greeting
    assert "Abonniert" in await bot.command(
        f"/start@{BOT_USERNAME}", chat_id=SMALL_GROUP, user_id=ADMIN
    )
    sent_before = len(bot.double.messages_to(SMALL_GROUP))
    bot.double.kick_bot(SMALL_GROUP, by_user_id=ADMIN)
    await settle(bot)
    group = await bot.storage.chats.get(SMALL_GROUP)
    assert group is not None and not group.active
    assert len(bot.double.messages_to(SMALL_GROUP)) == sent_before
    # promoted to admin later: not "added", so no second greeting
    bot.double.add_group(SMALL_GROUP - 1, "Andere", admins=[ADMIN])
    bot.double.my_chat_member(SMALL_GROUP - 1, "member", "administrator", ADMIN)
    await settle(bot)
    assert bot.double.messages_to(SMALL_GROUP - 1) == []


async def test_group_migration_service_message_keeps_subscriptions(bot: Harness) -> None:
    bot.double.add_group(SMALL_GROUP, "Kleine Gruppe", admins=[ADMIN])
    await bot.command("/start", chat_id=SMALL_GROUP, user_id=ADMIN)
    await bot.command("/keyword Drohne", chat_id=SMALL_GROUP, user_id=ADMIN)
    bot.double.migrate(SMALL_GROUP, NEW_SUPERGROUP, notify=True)
    await settle(bot)
    moved = await bot.storage.chats.get(NEW_SUPERGROUP)
    assert moved is not None and moved.active and moved.type == "supergroup"
    assert moved.subscriptions == ("ukraine",) and [f.value for f in moved.filters] == ["drohne"]
    old = await bot.storage.chats.get(SMALL_GROUP)
    assert old is not None and not old.active and old.subscriptions == ()
    assert "Stichwort: Drohne" in await bot.command(
        "/filters", chat_id=NEW_SUPERGROUP, user_id=ADMIN
    )


async def test_blocking_the_bot_deactivates_a_private_chat(bot: Harness) -> None:
    await bot.command("/start", chat_id=OTHER_USER)
    bot.double.block(OTHER_USER)
    await settle(bot)
    chat = await bot.storage.chats.get(OTHER_USER)
    assert chat is not None and not chat.active


# --- groups: privacy mode and admin-only settings ---------------------------------------------


async def test_group_member_refused_admin_and_anonymous_admin_succeed(bot: Harness) -> None:
    refused = await bot.command(f"/pause@{BOT_USERNAME}", chat_id=GROUP, user_id=MEMBER)
    assert "nur Admins" in refused
    chat = await bot.storage.chats.get(GROUP)
    assert chat is not None and not chat.paused
    assert "Pausiert" in await bot.command(f"/pause@{BOT_USERNAME}", chat_id=GROUP, user_id=ADMIN)
    assert "Weiter" in await bot.command("/resume", chat_id=GROUP, as_chat=True)
    assert await bot.command("/pause@some_other_bot", chat_id=GROUP, user_id=ADMIN) == ""
    # reading commands stay open to everyone
    assert "So geht's: /latest" in await bot.command("/latest 0", chat_id=GROUP, user_id=MEMBER)
    # a group never "manages" anything: /channel belongs to private chats
    assert "nur im privaten Chat" in await bot.command("/channel", chat_id=GROUP, user_id=MEMBER)
