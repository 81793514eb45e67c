"""The Bot API double, driven by the real python-telegram-bot library.

Talking to it through PTB (not raw HTTP) is the point: it proves PTB's encoding is understood
and that Telegram-shaped errors come out as the exceptions the bot's code handles.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
)

from bot.sandbox.html_check import HtmlParseError, parse_html, utf16_len
from bot.sandbox.telegram_double import TelegramDouble

# PTB 22 warns that RetryAfter.retry_after becomes a timedelta in v23; the value is what matters.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

TOKEN = "123456:TEST-token"
USER = 1001
GROUP = -5001
SUPERGROUP = -1005001


@pytest.fixture
async def double() -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble(TOKEN, bot_username="tickerbot_test_bot") as server:
        server.add_private_chat(USER, "Anna")
        server.add_group(GROUP, "Runde", admins=[USER], members=[2002])
        yield server


@pytest.fixture
async def bot(double: TelegramDouble) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=double.base_url, base_file_url=double.base_file_url) as client:
        yield client


def build_app(double: TelegramDouble) -> Application:  # type: ignore[type-arg]
    return (
        Application.builder()
        .token(TOKEN)
        .base_url(double.base_url)
        .base_file_url(double.base_file_url)
        .build()
    )


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "tickerbot_test_bot"
    assert me.is_bot


async def test_wrong_token_is_invalid_token(double: TelegramDouble) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=double.base_url):
            pass


async def test_send_valid_html_records_plain_text_and_options(
    bot: Bot, double: TelegramDouble
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mehr", callback_data="more:1")]])
    sent = await bot.send_message(
        USER,
        '<b>18:13</b> · <a href="https://example.org/?a=1&amp;b=2">Link</a> &lt;3 &#128512;',
        parse_mode="HTML",
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert sent.message_id == 1
    assert sent.text == "18:13 · Link <3 😀"
    record = double.messages_to(USER)[0]
    assert record.plain_text == "18:13 · Link <3 😀"
    assert record.link_preview_disabled and record.disable_notification
    assert record.reply_markup == markup.to_dict()
    assert {e["type"] for e in record.entities} == {"bold", "text_link"}
    # PTB 22 posts form-encoded bodies (values JSON-encoded unless they are strings)
    assert double.content_types["application/x-www-form-urlencoded"] >= 1
    assert double.unknown_methods == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag at byte offset 7"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_invalid_html_is_bad_request(bot: Bot, text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match="parse entities") as caught:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert fragment.lower() in caught.value.message.lower()


def test_html_parser_rules() -> None:
    assert parse_html("&nbsp;&amp;&#x41;").text == "&nbsp;&A"  # unknown named: literal
    assert parse_html("<blockquote expandable>q</blockquote>").entities[0]["type"] == (
        "expandable_blockquote"
    )
    assert parse_html("<tg-spoiler>s</tg-spoiler><STRONG>b</STRONG>").text == "sb"
    with pytest.raises(HtmlParseError, match="byte offset 3"):
        parse_html("äb<x>")  # byte offsets count UTF-8 bytes
    assert utf16_len("a😀") == 3


async def test_length_counts_text_after_parsing(bot: Bot) -> None:
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")


async def test_callback_data_over_64_bytes(bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="ä" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=markup)


async def test_private_flood_gives_retry_after_and_holds(double: TelegramDouble) -> None:
    double.private_burst = 3
    async with Bot(TOKEN, base_url=double.base_url) as bot:
        for _ in range(3):
            await bot.send_message(USER, "ok")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "too fast")
        assert caught.value.retry_after == 1
        with pytest.raises(RetryAfter):  # still pending: the same scope is refused
            await bot.send_message(USER, "again")
    assert double.flood_429_count == 2
    assert len(double.messages_to(USER)) == 3


async def test_global_and_group_limits() -> None:
    async with TelegramDouble(TOKEN, global_per_second=5, group_per_minute=2) as double:
        for user in range(10, 16):
            double.add_private_chat(user, f"U{user}")
        double.add_group(GROUP, "G")
        async with Bot(TOKEN, base_url=double.base_url) as bot:
            await bot.send_message(GROUP, "1")
            await bot.send_message(GROUP, "2")
            with pytest.raises(RetryAfter) as group_caught:
                await bot.send_message(GROUP, "3")
            assert 1 <= int(group_caught.value.retry_after) <= 60  # type: ignore[arg-type]
            for user in range(10, 13):
                await bot.send_message(user, "x")
            with pytest.raises(RetryAfter):
                await bot.send_message(15, "sixth in one second")


async def test_blocked_kicked_unknown_and_migrated(bot: Bot, double: TelegramDouble) -> None:
    double.block(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "x")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "x")
    double.migrate(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "x")
    assert caught.value.new_chat_id == SUPERGROUP
    await bot.send_message(SUPERGROUP, "moved")
    double.kick_bot(SUPERGROUP)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(SUPERGROUP, "x")


async def test_edits(bot: Bot, double: TelegramDouble) -> None:
    seen: list[str] = []
    double.listeners.append(lambda kind, message: seen.append(kind))
    sent = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>v1</b>", USER, sent.message_id, parse_mode="HTML")
    edited = await bot.edit_message_text("<b>v2</b>", USER, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "v2"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    record = double.message(USER, sent.message_id)
    assert [edit.plain_text for edit in record.edits] == ["v2"]
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v3", USER, sent.message_id)
    assert seen == ["sent", "edited", "deleted"]


async def test_faults(bot: Bot, double: TelegramDouble) -> None:
    double.fail_next(1, status=500)
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "ok")
    double.flood(3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "storm")
    assert caught.value.retry_after == 3
    double.clear_faults()
    double.delay_next(1, seconds=1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.2)
    # the message arrived anyway, like a real timeout: a resend would be a repeat
    assert double.messages_to(USER)[-1].text == "slow"


async def test_commands_and_chat_queries(bot: Bot, double: TelegramDouble) -> None:
    from telegram import BotCommand, BotCommandScopeAllGroupChats

    await bot.set_my_commands([BotCommand("start", "Start")], language_code="de")
    await bot.set_my_commands(
        [BotCommand("help", "Help")], scope=BotCommandScopeAllGroupChats(), language_code="en"
    )
    assert [c.command for c in await bot.get_my_commands(language_code="de")] == ["start"]
    assert double.get_commands("en", {"type": "all_group_chats"})[0]["command"] == "help"
    chat = await bot.get_chat(GROUP)
    assert chat.title == "Runde"
    member = await bot.get_chat_member(GROUP, USER)
    assert member.status == "administrator"
    admins = await bot.get_chat_administrators(GROUP)
    assert [a.user.id for a in admins] == [USER]
    assert await bot.get_chat_member_count(GROUP) == 3
    assert await bot.send_chat_action(USER, "typing")


async def test_channel_rights(bot: Bot, double: TelegramDouble) -> None:
    double.add_channel(-1009, "news", "News", admins={USER: "creator"}, bot_can_post=False)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.send_message("@news", "x")
    member = await bot.get_chat_member(-1009, double.bot_id)
    assert member.status == "administrator"
    assert getattr(member, "can_post_messages", None) is False
    assert (await bot.get_chat_member(-1009, USER)).status == "creator"


async def test_unknown_method_is_recorded(bot: Bot, double: TelegramDouble) -> None:
    with pytest.raises(EndPointNotFound):  # PTB's reading of Telegram's 404 for a method
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": USER})
    assert double.unknown_methods == ["sendHologram"]


async def test_polling_application_answers_commands_buttons_and_inline(
    double: TelegramDouble,
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        await update.effective_message.reply_text("Hallo!", reply_markup=markup)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("done")
        await update.callback_query.edit_message_text("Gedrückt")

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        await update.inline_query.answer(
            [
                InlineQueryResultArticle(
                    "1", "Treffer", InputTextMessageContent(update.inline_query.query)
                )
            ],
            cache_time=5,
            next_offset="10",
        )

    app = build_app(double)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(InlineQueryHandler(inline))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        double.send_text(GROUP, USER, "/start@tickerbot_test_bot")
        reply = await double.wait_for(lambda m: m.chat_id == GROUP, timeout=5)
        assert reply.text == "Hallo!"
        assert reply.reply_to_message_id is None or reply.reply_to_message_id == 1

        query_id = double.press_button(GROUP, reply.message_id, USER, "go")
        answer = await double.wait_for_callback_answer(query_id, timeout=5)
        assert answer.text == "done"
        edited = await double.wait_for(lambda m: m.plain_text == "Gedrückt", timeout=5)
        assert edited.message_id == reply.message_id

        inline_id = double.inline_query(USER, "Charkiw")
        result = await double.wait_for_inline_answer(inline_id, timeout=5)
        assert result.cache_time == 5 and result.next_offset == "10"
        assert result.results[0]["input_message_content"]["message_text"] == "Charkiw"
        inline_message_id = double.choose_inline_result(USER, "1", "Charkiw")
        assert await app.bot.edit_message_text(
            "<i>Charkiw</i>", inline_message_id=inline_message_id, parse_mode="HTML"
        )
        assert double.inline_message(inline_message_id).entities[0]["type"] == "italic"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert double.unknown_methods == []


async def test_anonymous_admin_and_command_entities(double: TelegramDouble) -> None:
    message = double.send_text(GROUP, None, "hi /help@tickerbot_test_bot now")
    assert message["sender_chat"]["id"] == GROUP
    assert message["from"]["username"] == "GroupAnonymousBot"
    assert message["entities"] == [{"type": "bot_command", "offset": 3, "length": 24}]


async def test_webhook_delivery_with_secret(bot: Bot, double: TelegramDouble) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Exception, match="webhook is active"):
            await bot.get_updates()
        double.send_text(USER, USER, "/start")
        await asyncio.wait_for(arrived.wait(), 5)
        secret, update = received[0]
        assert secret == "s3cret"
        assert json.dumps(update).count("/start") == 1
        await double.wait_for_updates_consumed(timeout=5)
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_raw_json_body_and_token_check(double: TelegramDouble) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{double.base_url}{TOKEN}/sendMessage",
            json={"chat_id": USER, "text": "<i>x</i>", "parse_mode": "HTML"},
        ) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "x"
        async with session.post(f"{double.base_url}1:bad/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }


async def test_long_poll_wakes_on_update_and_confirms_by_offset(
    bot: Bot, double: TelegramDouble
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)  # let the poll reach the double before the update exists
    double.send_text(USER, USER, "/start")
    updates = await poll
    assert loop.time() - started < 2
    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert double.pending_updates == 1
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert double.pending_updates == 0


async def test_member_and_migration_updates(bot: Bot, double: TelegramDouble) -> None:
    double.add_group(-7001, "Neu", admins=[USER], anonymous_admins=[3003])
    assert (await bot.get_chat_member(-7001, 3003)).is_anonymous  # type: ignore[attr-defined]
    double.my_chat_member(-7001, "left", "member", by_user_id=USER)
    double.migrate(GROUP, SUPERGROUP)
    updates = await bot.get_updates(timeout=0)
    member = updates[0].my_chat_member
    assert member is not None and member.new_chat_member.status == "member"
    assert member.from_user.id == USER
    migrated = [u.message for u in updates[1:] if u.message]
    assert migrated[0].migrate_to_chat_id == SUPERGROUP
    assert migrated[1].migrate_from_chat_id == GROUP
    double.kick_bot(-7001, by_user_id=USER)
    with pytest.raises(Forbidden, match="kicked from the group chat"):
        await bot.send_message(-7001, "x")
