"""A local stand-in for the Telegram Bot API, strict enough to catch what Telegram would refuse.

The real python-telegram-bot library talks to it over HTTP (``base_url=double.base_url``), so
tests, benchmarks and ``tickerbot demo`` exercise exactly the code paths production uses:
request encoding, error mapping (``RetryAfter``, ``ChatMigrated``, ``Forbidden`` …), long
polling and webhooks. Being lenient would hide bugs, so the double enforces Telegram's HTML
rules, length limits, flood limits and chat states, and answers with Telegram's own wording.

What PTB 22 sends: ``application/x-www-form-urlencoded`` bodies (``multipart/form-data`` when a
file is uploaded) in which strings are sent raw and every other value (ints, bools, objects such
as ``reply_markup``) is JSON-encoded. JSON bodies are accepted as well, for other clients.

All clocks are ``loop.time()``; every wait is on an :class:`asyncio.Condition`, never a sleep loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

import aiohttp
from aiohttp import web

from bot.sandbox.html_check import HtmlParseError, parse_html, utf16_len

__all__ = [
    "ANONYMOUS_ADMIN_ID",
    "ApiError",
    "CallbackAnswer",
    "Edit",
    "InlineAnswer",
    "RequestRecord",
    "SentMessage",
    "TelegramDouble",
]

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]

#: Telegram's "Group" user that anonymous admins post as.
ANONYMOUS_ADMIN_ID = 1087968824
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 50

_DEFAULT_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "reply_parameters",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "button",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "user_id",
        "offset",
        "limit",
        "from_chat_id",
        "message_thread_id",
        "max_connections",
        "cache_time",
        "until_date",
        "reply_to_message_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "disable_web_page_preview",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "revoke_messages",
        "only_if_banned",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_CHANNEL_RIGHTS = ("can_post_messages", "can_edit_messages")
_GROUP_RIGHTS = ("can_pin_messages",)


class ApiError(Exception):
    """An error answer, raised inside a method handler and turned into Telegram's JSON."""

    def __init__(
        self, code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def payload(self) -> JSONDict:
        """The body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str, **parameters: Any) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters or None)


@dataclass(slots=True)
class Edit:
    """One accepted edit of a bot message, kept so tests can see the history."""

    text: str
    plain_text: str
    parse_mode: str | None
    reply_markup: JSONDict | None
    at: float


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as the double stored it (current state plus edit history)."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    plain_text: str
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    disable_notification: bool
    link_preview_disabled: bool
    date: int
    sent_at: float
    reply_to_message_id: int | None = None
    params: JSONDict = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    inline_message_id: str | None = None

    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]


@dataclass(slots=True)
class RequestRecord:
    """One API call as received: for asserting on what the bot did (and did not) call."""

    method: str
    params: JSONDict
    status: int
    at: float
    description: str | None = None


@dataclass(slots=True)
class CallbackAnswer:
    """What the bot answered to a button press."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(slots=True)
class InlineAnswer:
    """What the bot answered to an inline query."""

    inline_query_id: str
    results: list[JSONDict]
    next_offset: str
    cache_time: int
    is_personal: bool
    button: JSONDict | None


@dataclass(slots=True)
class _Member:
    status: str
    rights: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Chat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    members: dict[int, _Member] = field(default_factory=dict)
    bot_status: str = "member"
    bot_rights: dict[str, Any] = field(default_factory=dict)
    blocked: bool = False
    migrated_to: int | None = None
    migrated_from: int | None = None
    # flood control state
    tokens: float = 0.0
    token_at: float = 0.0
    window: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0

    def json(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        return data


@dataclass(slots=True)
class _User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def json(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(slots=True)
class _Fault:
    remaining: int
    status: int = 500
    description: str = "Internal Server Error"
    delay: float = 0.0
    deliver: bool = True


class TelegramDouble:
    """An in-process Bot API server for one bot; see the module docstring for why it is strict.

    Limits are constructor arguments so a test can make them tight (fast 429s) and a benchmark
    can match Telegram's real ones (the defaults).
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "tickerbot_test_bot",
        bot_name: str = "Tickerbot",
        global_per_second: int = 30,
        global_window: float = 1.0,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        group_per_minute: int = 20,
        group_window: float = 60.0,
        length_unit: Literal["utf16", "codepoints"] = "utf16",
        max_request_log: int | None = None,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        """Create a stopped double; call :meth:`start` (or use ``async with``).

        ``length_unit`` picks how the 4096 limit is counted after entity parsing: UTF-16 code
        units (stricter, the unit of Telegram's entity offsets) or Unicode code points.
        ``max_request_log`` bounds :attr:`requests` for very long benchmark runs.
        """
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_user = _User(self.bot_id, bot_name, bot_username, is_bot=True)
        self.global_per_second = global_per_second
        self.global_window = global_window
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.length_unit = length_unit
        self.webhook_retry_delay = webhook_retry_delay

        self.sent: list[SentMessage] = []
        """Every message the bot sent, in order (deleted ones stay, flagged ``deleted``)."""
        self.requests: deque[RequestRecord] = deque(maxlen=max_request_log)
        """Every API call, in arrival order."""
        self.unknown_methods: list[str] = []
        """Methods the double does not know (answered 404 like Telegram): assert it stays empty."""
        self.flood_429_count = 0
        """How many 429 answers were given (flood limits and forced storms)."""
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        """setMyCommands state keyed by (scope as canonical JSON, language_code)."""
        self.chat_actions: list[tuple[int, str]] = []
        self.content_types: Counter[str] = Counter()
        """Request body types seen (PTB 22: application/x-www-form-urlencoded)."""
        self.listeners: list[Callable[[str, SentMessage], None]] = []
        """Called with ("sent" | "edited" | "deleted", message) as it happens, e.g. by the demo's
        terminal view, so it needs no polling of :attr:`sent`."""
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_deliveries = 0

        self._users: dict[int, _User] = {self.bot_id: self.bot_user}
        self._chats: dict[int, _Chat] = {}
        self._usernames: dict[str, int] = {}
        self._by_chat: dict[int, dict[int, SentMessage]] = {}
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._inline_messages: dict[str, SentMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: deque[JSONDict] = deque()
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATES
        self._events: list[SentMessage] = []
        self._global: deque[float] = deque()
        self._global_blocked_until = 0.0
        self._faults: dict[str, _Fault] = {}
        self._forced_429: tuple[float, int] | None = None
        self._pending_queries: dict[str, int] = {}
        self._poll_generation = 0
        self._closing = False
        self._cond: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_wakeup: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        self._cond = asyncio.Condition()
        self._webhook_wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        # A short shutdown timeout: long polls are woken on stop, and a test's stop must be fast.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Wake long polls, stop webhook delivery and close the server."""
        self._closing = True
        if self._stopping is not None:
            self._stopping.set()
        await self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (0 before :meth:`start`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url``: PTB appends the token itself."""
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url``."""
        return f"http://127.0.0.1:{self._port}/file/bot"

    def _now(self) -> float:
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    # ------------------------------------------------------------------ world setup

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "de",
    ) -> None:
        """Make a user known (for group members who never talked to the bot privately)."""
        self._users[user_id] = _User(user_id, first_name, username, language_code)

    def add_private_chat(
        self,
        user_id: int,
        first_name: str,
        language_code: str = "de",
        username: str | None = None,
    ) -> None:
        """A user who has started the bot: their private chat id equals their user id."""
        self.add_user(user_id, first_name, username=username, language_code=language_code)
        chat = _Chat(
            user_id,
            "private",
            username=username,
            first_name=first_name,
            language_code=language_code,
        )
        chat.members[user_id] = _Member("member")
        self._add_chat(chat)

    def add_group(
        self,
        chat_id: int,
        title: str,
        type: Literal["group", "supergroup"] = "group",  # Telegram's own word
        admins: Iterable[int] = (),
        members: Iterable[int] = (),
        *,
        creator: int | None = None,
        anonymous_admins: Iterable[int] = (),
        username: str | None = None,
        bot_status: str = "member",
    ) -> None:
        """A group or supergroup with the bot in it; unknown member ids become placeholder users.

        ``anonymous_admins`` are administrators with ``is_anonymous`` set: their messages arrive
        "sent as the group" (``sender_chat``), from the GroupAnonymousBot user.
        """
        chat = _Chat(chat_id, type, title=title, username=username, bot_status=bot_status)
        anonymous = set(anonymous_admins)
        if creator is not None:
            self._ensure_user(creator)
            chat.members[creator] = _Member("creator", {"is_anonymous": creator in anonymous})
        for user_id in itertools.chain(admins, anonymous):
            if user_id in chat.members:
                continue
            self._ensure_user(user_id)
            chat.members[user_id] = _Member(
                "administrator", _admin_rights(type, is_anonymous=user_id in anonymous)
            )
        for user_id in members:
            self._ensure_user(user_id)
            chat.members.setdefault(user_id, _Member("member"))
        if bot_status == "administrator":
            chat.bot_rights = _admin_rights(type)
        self._add_chat(chat)

    def add_channel(
        self,
        chat_id: int,
        username: str | None,
        title: str,
        admins: Mapping[int, Literal["creator", "administrator"]] | None = None,
        bot_status: Literal["administrator", "member", "left"] = "administrator",
        bot_can_post: bool = True,
    ) -> None:
        """A channel: who administers it and whether the bot may post there."""
        chat = _Chat(chat_id, "channel", title=title, username=username, bot_status=bot_status)
        for user_id, status in (admins or {}).items():
            self._ensure_user(user_id)
            rights = {} if status == "creator" else _admin_rights("channel")
            rights["is_anonymous"] = False
            chat.members[user_id] = _Member(status, rights)
        if bot_status == "administrator":
            chat.bot_rights = _admin_rights("channel")
            chat.bot_rights["can_post_messages"] = bot_can_post
        self._add_chat(chat)

    def set_chat_member(self, chat_id: int, user_id: int, status: str, **rights: Any) -> None:
        """Set a member's status (creator/administrator/member/restricted/left/kicked) and rights.

        ``user_id`` equal to the bot's id changes the bot's own status; rights not given default
        to the usual administrator rights.
        """
        chat = self._chat(chat_id)
        base = _admin_rights(chat.type) if status == "administrator" else {}
        base.update(rights)
        if user_id == self.bot_id:
            chat.bot_status = status
            chat.bot_rights = base
            return
        self._ensure_user(user_id)
        chat.members[user_id] = _Member(status, base)

    def block(self, chat_id: int, *, notify: bool = True) -> None:
        """The user blocked the bot: sends answer 403; optionally a my_chat_member update."""
        chat = self._chat(chat_id)
        if chat.type != "private":
            raise ValueError("only private chats block; use kick_bot for groups and channels")
        chat.blocked = True
        if notify:
            self._enqueue_chat_member(chat, "member", "kicked", chat.id)

    def unblock(self, chat_id: int) -> None:
        """The user restarted the bot."""
        self._chat(chat_id).blocked = False

    def kick_bot(self, chat_id: int, by_user_id: int | None = None, *, notify: bool = True) -> None:
        """The bot was removed from a group or channel: sends answer 403 from now on."""
        chat = self._chat(chat_id)
        if chat.type == "private":
            self.block(chat_id, notify=notify)
            return
        old = chat.bot_status
        chat.bot_status = "kicked"
        if notify:
            self._enqueue_chat_member(chat, old, "kicked", by_user_id or self._some_admin(chat))

    def migrate(self, group_id: int, new_supergroup_id: int, *, notify: bool = True) -> None:
        """Upgrade a group to a supergroup: the old id answers 400 with migrate_to_chat_id.

        With ``notify`` the two service messages Telegram emits are queued as updates
        (``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the new one).
        """
        old = self._chat(group_id)
        new = _Chat(
            new_supergroup_id,
            "supergroup",
            title=old.title,
            username=old.username,
            members=dict(old.members),
            bot_status=old.bot_status,
            bot_rights=dict(old.bot_rights),
            migrated_from=group_id,
        )
        old.migrated_to = new_supergroup_id
        self._add_chat(new)
        if notify:
            actor = self._users[self._some_admin(old)].json()
            self._enqueue(
                "message",
                {
                    "message_id": self._new_message_id(group_id),
                    "from": actor,
                    "chat": old.json(),
                    "date": self._date(),
                    "migrate_to_chat_id": new_supergroup_id,
                },
            )
            self._enqueue(
                "message",
                {
                    "message_id": self._new_message_id(new_supergroup_id),
                    "from": actor,
                    "sender_chat": old.json(),
                    "chat": new.json(),
                    "date": self._date(),
                    "migrate_from_chat_id": group_id,
                },
            )

    # ------------------------------------------------------------------ user actions (updates)

    def send_text(
        self,
        chat_id: int,
        user_id: int | None,
        text: str,
        *,
        as_chat: bool = False,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """A user writes ``text`` in a chat; returns the Message as delivered in the update.

        ``bot_command`` entities are computed like Telegram (``/cmd`` and ``/cmd@botname``).
        ``as_chat=True`` (or ``user_id=None``) sends "as the group" like an anonymous admin, or
        as a channel post in a channel.
        """
        chat = self._chat(chat_id)
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "date": self._date(),
            "chat": chat.json(),
            "text": text,
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.json()
            kind = "channel_post"
        else:
            kind = "message"
            if as_chat or user_id is None:
                if chat.type == "private":
                    raise ValueError("a private chat has no anonymous sender")
                self._users.setdefault(
                    ANONYMOUS_ADMIN_ID,
                    _User(ANONYMOUS_ADMIN_ID, "Group", "GroupAnonymousBot", None, is_bot=True),
                )
                message["from"] = self._users[ANONYMOUS_ADMIN_ID].json()
                message["sender_chat"] = chat.json()
            else:
                message["from"] = self._ensure_user(user_id).json()
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            original = self._by_chat.get(chat_id, {}).get(reply_to_message_id)
            if original is not None:
                message["reply_to_message"] = self._message_json(original)
        self._user_messages[(chat_id, message["message_id"])] = message
        self._enqueue(kind, message)
        return message

    def press_button(self, chat_id: int, message_id: int, user_id: int, data: str) -> str:
        """A user presses an inline button with ``callback_data == data``; returns the query id.

        Raises ValueError when the bot's message has no such button, because a test pressing a
        button that is not there is a bug in the test or in the bot.
        """
        message = self._by_chat.get(chat_id, {}).get(message_id)
        if message is None or message.deleted:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if not any(button.get("callback_data") == data for button in message.buttons()):
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = str(next(self._ids) * 7919 + 10**15)
        self._pending_queries[query_id] = user_id
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": self._ensure_user(user_id).json(),
                "message": self._message_json(message),
                "chat_instance": str(abs(chat_id) * 31 + 7),
                "data": data,
            },
        )
        return query_id

    def inline_query(
        self, user_id: int, query: str, offset: str = "", *, chat_type: str | None = "sender"
    ) -> str:
        """A user types ``@bot query``; returns the inline query id to look up the answer."""
        query_id = str(next(self._ids) * 104729 + 2 * 10**15)
        payload: JSONDict = {
            "id": query_id,
            "from": self._ensure_user(user_id).json(),
            "query": query,
            "offset": offset,
        }
        if chat_type:
            payload["chat_type"] = chat_type
        self._pending_queries[query_id] = user_id
        self._enqueue("inline_query", payload)
        return query_id

    def choose_inline_result(self, user_id: int, result_id: str, query: str) -> str:
        """The user picked an inline result: creates an inline message the bot may edit.

        Returns its ``inline_message_id``; a ``chosen_inline_result`` update is queued too.
        """
        inline_id = f"inline-{next(self._ids)}"
        text = ""
        for answer in reversed(self.inline_answers.values()):
            for result in answer.results:
                if result.get("id") == result_id:
                    content = result.get("input_message_content") or {}
                    text = str(content.get("message_text", ""))
        now = self._now()
        self._inline_messages[inline_id] = SentMessage(
            chat_id=0,
            message_id=0,
            text=text,
            parse_mode=None,
            plain_text=text,
            entities=[],
            reply_markup=None,
            disable_notification=False,
            link_preview_disabled=False,
            date=self._date(),
            sent_at=now,
            inline_message_id=inline_id,
        )
        self._enqueue(
            "chosen_inline_result",
            {
                "result_id": result_id,
                "from": self._ensure_user(user_id).json(),
                "query": query,
                "inline_message_id": inline_id,
            },
        )
        return inline_id

    def my_chat_member(
        self, chat_id: int, old_status: str, new_status: str, by_user_id: int
    ) -> None:
        """The bot's status in a chat changed (added, promoted, removed): updates it and queues
        the ``my_chat_member`` update Telegram would send."""
        chat = self._chat(chat_id)
        chat.bot_status = new_status
        if new_status == "administrator" and not chat.bot_rights:
            chat.bot_rights = _admin_rights(chat.type)
        if new_status in {"member", "administrator", "creator"} and chat.type == "private":
            chat.blocked = False
        self._enqueue_chat_member(chat, old_status, new_status, by_user_id)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        method: str = "sendMessage",
    ) -> None:
        """The next ``n`` calls of ``method`` answer ``status`` without doing anything."""
        self._faults[method.lower()] = _Fault(n, status, description)

    def delay_next(
        self,
        n: int = 1,
        *,
        seconds: float = 30.0,
        method: str = "sendMessage",
        deliver: bool = True,
    ) -> None:
        """The next ``n`` calls of ``method`` answer only after ``seconds`` (beyond the client's
        timeout). With ``deliver`` the message still arrives, as with a real timeout: the
        client cannot know, which is what makes a repeat possible."""
        self._faults[method.lower()] = _Fault(n, 200, "", delay=seconds, deliver=deliver)

    def flood(self, retry_after: int, *, count: int | None = None) -> None:
        """A 429 storm: every send/edit answers 429 for ``retry_after`` seconds (or for the next
        ``count`` calls), with ``parameters.retry_after`` counting down like Telegram's."""
        until = self._now() + retry_after
        if count is None:
            self._global_blocked_until = max(self._global_blocked_until, until)
        else:
            self._forced_429 = (until, count)

    def clear_faults(self) -> None:
        """Drop pending injected failures and storms."""
        self._faults.clear()
        self._forced_429 = None
        self._global_blocked_until = 0.0

    # ------------------------------------------------------------------ inspection

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to one chat, oldest first (including deleted ones)."""
        return list(self._by_chat.get(chat_id, {}).values())

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """One bot message by id (KeyError if the bot never sent it)."""
        return self._by_chat[chat_id][message_id]

    def inline_message(self, inline_message_id: str) -> SentMessage:
        """An inline message created by :meth:`choose_inline_result`."""
        return self._inline_messages[inline_message_id]

    def calls(self, method: str) -> list[RequestRecord]:
        """Requests of one method (case-insensitive)."""
        key = method.lower()
        return [record for record in self.requests if record.method.lower() == key]

    @property
    def pending_updates(self) -> int:
        """Updates queued for getUpdates and not yet confirmed."""
        return len(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first sent or edited message matching ``predicate``, waiting up to ``timeout``.

        Checks what already happened first, then only new sends/edits: each wake-up costs the
        number of new events, not the history.
        """
        cond = self._require_cond()
        seen = 0

        def check() -> SentMessage | None:
            nonlocal seen
            events = self._events
            while seen < len(events):
                candidate = events[seen]
                seen += 1
                if predicate(candidate):
                    return candidate
            return None

        found: list[SentMessage] = []

        def ready() -> bool:
            hit = check()
            if hit is not None:
                found.append(hit)
                return True
            return self._closing

        async with cond:
            await asyncio.wait_for(cond.wait_for(ready), timeout)
        if not found:
            raise TimeoutError("double stopped while waiting")
        return found[0]

    async def wait_for_messages(
        self,
        chat_id: int,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``n`` messages to ``chat_id``; return them all."""
        cond = self._require_cond()

        def ready() -> bool:
            return len(self._by_chat.get(chat_id, ())) >= n or self._closing

        async with cond:
            await asyncio.wait_for(cond.wait_for(ready), timeout)
        return self.messages_to(chat_id)

    async def wait_for_inline_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InlineAnswer:
        """Wait for the bot's answerInlineQuery to ``query_id``."""
        cond = self._require_cond()
        async with cond:
            await asyncio.wait_for(
                cond.wait_for(lambda: query_id in self.inline_answers or self._closing), timeout
            )
        return self.inline_answers[query_id]

    async def wait_for_callback_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Wait for the bot's answerCallbackQuery to ``query_id``."""
        cond = self._require_cond()
        async with cond:
            await asyncio.wait_for(
                cond.wait_for(lambda: query_id in self.callback_answers or self._closing), timeout
            )
        return self.callback_answers[query_id]

    async def wait_for_updates_consumed(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot has confirmed every queued update (and webhooks delivered them)."""
        cond = self._require_cond()
        async with cond:
            await asyncio.wait_for(
                cond.wait_for(lambda: not self._updates or self._closing), timeout
            )

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        return _json_response(ApiError(404, "Not Found").payload(), 404)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
            self._log(method, {}, 401, error.description)
            return _json_response(error.payload(), 401)
        self.content_types[request.content_type] += 1
        try:
            params = await _read_params(request)
        except ApiError as error:
            self._log(method, {}, error.code, error.description)
            return _json_response(error.payload(), error.code)
        key = method.lower()
        fault = self._faults.get(key)
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[key]
            if fault.delay > 0:
                if fault.deliver:
                    status, body = await self._dispatch(key, method, params)
                else:
                    status, body = 200, {"ok": True, "result": True}
                # The injected slowness itself; cut short by stop() so teardown stays fast.
                stopping = self._stopping
                assert stopping is not None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), fault.delay)
                return _json_response(body, status)
            injected = ApiError(fault.status, fault.description)
            self._log(method, params, fault.status, fault.description)
            return _json_response(injected.payload(), fault.status)
        status, body = await self._dispatch(key, method, params)
        return _json_response(body, status)

    async def _dispatch(self, key: str, method: str, params: JSONDict) -> tuple[int, JSONDict]:
        handler = self._methods.get(key)
        if handler is None:
            self.unknown_methods.append(method)
            error = ApiError(404, "Not Found")
            self._log(method, params, 404, error.description)
            return 404, error.payload()
        try:
            if key == "getupdates":
                result = await self._get_updates(params)
            else:
                result = handler(self, params)
        except ApiError as error:
            if error.code == 429:
                self.flood_429_count += 1
            self._log(method, params, error.code, error.description)
            return error.code, error.payload()
        self._log(method, params, 200, None)
        if key in _NOTIFYING:
            await self._notify()
        return 200, {"ok": True, "result": result}

    def _log(self, method: str, params: JSONDict, status: int, description: str | None) -> None:
        self.requests.append(RequestRecord(method, params, status, self._now(), description))

    async def _notify(self) -> None:
        cond = self._cond
        if cond is None:
            return
        async with cond:
            cond.notify_all()

    def _require_cond(self) -> asyncio.Condition:
        if self._cond is None:
            raise RuntimeError("TelegramDouble is not started")
        return self._cond

    # ------------------------------------------------------------------ chats and helpers

    def _add_chat(self, chat: _Chat) -> None:
        chat.tokens = float(self.private_burst)
        chat.token_at = self._now() if self._loop else 0.0
        self._chats[chat.id] = chat
        if chat.username:
            self._usernames[chat.username.lower()] = chat.id

    def _chat(self, chat_id: int) -> _Chat:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"unknown chat {chat_id}: add it first") from None

    def _ensure_user(self, user_id: int) -> _User:
        user = self._users.get(user_id)
        if user is None:
            user = _User(user_id, f"User{user_id}", None, "de")
            self._users[user_id] = user
        return user

    def _some_admin(self, chat: _Chat) -> int:
        for user_id, member in chat.members.items():
            if member.status in {"creator", "administrator"}:
                return user_id
        return next(iter(chat.members), chat.id)

    def _date(self) -> int:
        # Telegram dates are Unix seconds: wall-clock time, unlike the loop-time flood clocks.
        return int(time.time())

    def _new_message_id(self, chat_id: int) -> int:
        value = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = value + 1
        return value

    def _resolve_chat(self, raw: Any, *, for_send: bool = False) -> _Chat:
        """Find the target chat, raising the error Telegram gives for its state."""
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        chat_id: int | None
        if isinstance(raw, str) and raw.startswith("@"):
            chat_id = self._usernames.get(raw[1:].lower())
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        if chat.type == "private":
            if chat.blocked and for_send:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return chat
        kind = {"group": "group", "supergroup": "supergroup", "channel": "channel"}[chat.type]
        if chat.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if chat.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if for_send and chat.type == "channel":
            if chat.bot_status != "administrator":
                raise _bad("need administrator rights in the channel chat")
            if not chat.bot_rights.get("can_post_messages", True):
                raise _bad("not enough rights to send text messages to the chat")
        return chat

    # ------------------------------------------------------------------ flood control

    def _flood_check(self, chat: _Chat | None) -> None:
        """Apply the global, per-private-chat and per-group limits; count an accepted send.

        Sliding windows are deques of accepted timestamps (amortised O(1)); private chats use a
        token bucket so a short burst passes and a sustained rate above 1/s does not.
        """
        now = self._now()
        if self._forced_429 is not None:
            until, count = self._forced_429
            if count > 0 and now < until:
                self._forced_429 = (until, count - 1)
                raise _too_many(until - now)
            self._forced_429 = None
        if now < self._global_blocked_until:
            raise _too_many(self._global_blocked_until - now)
        if chat is not None and now < chat.blocked_until:
            raise _too_many(chat.blocked_until - now)
        window = self._global
        horizon = now - self.global_window
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= self.global_per_second:
            wait = window[0] + self.global_window - now
            self._global_blocked_until = now + math.ceil(wait)
            raise _too_many(wait)
        if chat is not None:
            if chat.type == "private":
                tokens = min(
                    float(self.private_burst),
                    chat.tokens + (now - chat.token_at) * self.private_per_second,
                )
                chat.token_at = now
                if tokens < 1.0:
                    chat.tokens = tokens
                    wait = (1.0 - tokens) / self.private_per_second
                    chat.blocked_until = now + math.ceil(wait)
                    raise _too_many(wait)
                chat.tokens = tokens - 1.0
            else:
                group_window = chat.window
                group_horizon = now - self.group_window
                while group_window and group_window[0] <= group_horizon:
                    group_window.popleft()
                if len(group_window) >= self.group_per_minute:
                    wait = group_window[0] + self.group_window - now
                    chat.blocked_until = now + math.ceil(wait)
                    raise _too_many(wait)
                group_window.append(now)
        window.append(now)

    # ------------------------------------------------------------------ text validation

    def _render(
        self, params: JSONDict, key: str = "text"
    ) -> tuple[str, str | None, str, list[JSONDict]]:
        text = params.get(key)
        if text is None or text == "":
            raise _bad("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        entities: list[JSONDict] = []
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    parsed = parse_html(text)
                except HtmlParseError as error:
                    raise _bad(f"can't parse entities: {error}") from None
                plain, entities = parsed.text, parsed.entities
            elif mode in {"markdown", "markdownv2"}:
                plain = text  # not modelled: the bot uses HTML; kept verbatim
            else:
                raise _bad(f"unsupported parse_mode {parse_mode}")
        else:
            plain = text
            raw_entities = params.get("entities")
            if isinstance(raw_entities, list):
                entities = [entity for entity in raw_entities if isinstance(entity, dict)]
        if not plain.strip():
            raise _bad("message text is empty")
        size = utf16_len(plain) if self.length_unit == "utf16" else len(plain)
        if size > MAX_TEXT:
            raise _bad("message is too long")
        return text, parse_mode, plain, entities

    def _markup(self, params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is not None:
            if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            for row in keyboard:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad(
                            "BUTTON_TEXT_INVALID"
                            if isinstance(button, dict)
                            else "can't parse inline keyboard button"
                        )
                    data = button.get("callback_data")
                    if data is not None:
                        size = len(str(data).encode("utf-8"))
                        if size == 0 or size > MAX_CALLBACK_DATA:
                            raise _bad("BUTTON_DATA_INVALID")
                    elif not any(
                        k in button
                        for k in (
                            "url",
                            "login_url",
                            "switch_inline_query",
                            "switch_inline_query_current_chat",
                            "switch_inline_query_chosen_chat",
                            "callback_game",
                            "pay",
                            "web_app",
                            "copy_text",
                        )
                    ):
                        raise _bad('can\'t find field "url"')
        return markup

    @staticmethod
    def _preview_disabled(params: JSONDict) -> bool:
        options = params.get("link_preview_options")
        if isinstance(options, dict) and options.get("is_disabled"):
            return True
        return bool(params.get("disable_web_page_preview"))

    def _message_json(self, message: SentMessage) -> JSONDict:
        chat = self._chats.get(message.chat_id)
        data: JSONDict = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.json() if chat else {"id": message.chat_id, "type": "private"},
            "text": message.plain_text,
        }
        if chat is not None and chat.type == "channel":
            data["sender_chat"] = chat.json()
        else:
            data["from"] = self.bot_user.json()
        if message.entities:
            data["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edits:
            data["edit_date"] = message.date + max(0, int(message.edits[-1].at - message.sent_at))
        if message.link_preview_disabled:
            data["link_preview_options"] = {"is_disabled": True}
        return data

    def _record_event(self, message: SentMessage, kind: str) -> None:
        self._events.append(message)
        for listener in self.listeners:
            listener(kind, message)

    # ------------------------------------------------------------------ API methods

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user.json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._resolve_chat(params.get("chat_id"), for_send=True)
        text, parse_mode, plain, entities = self._render(params)
        markup = self._markup(params)
        reply_to: int | None = None
        allow = False
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            reply_to = int(reply["message_id"])
            allow = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            reply_to = int(params["reply_to_message_id"])
            allow = bool(params.get("allow_sending_without_reply"))
        if reply_to is not None:
            exists = (chat.id, reply_to) in self._user_messages or reply_to in self._by_chat.get(
                chat.id, {}
            )
            if not exists:
                if not allow:
                    raise _bad("message to be replied not found")
                reply_to = None
        self._flood_check(chat)
        message = SentMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat.id),
            text=text,
            parse_mode=parse_mode,
            plain_text=plain,
            entities=entities,
            reply_markup=markup,
            disable_notification=bool(params.get("disable_notification")),
            link_preview_disabled=self._preview_disabled(params),
            date=self._date(),
            sent_at=self._now(),
            reply_to_message_id=reply_to,
            params=params,
        )
        self.sent.append(message)
        self._by_chat.setdefault(chat.id, {})[message.message_id] = message
        self._record_event(message, "sent")
        result = self._message_json(message)
        if reply_to is not None:
            original = self._user_messages.get((chat.id, reply_to))
            if original is None:
                original = self._message_json(self._by_chat[chat.id][reply_to])
            result["reply_to_message"] = original
        return result

    def _find_editable(self, params: JSONDict, *, what: str = "edit") -> tuple[SentMessage, bool]:
        inline_id = params.get("inline_message_id")
        if inline_id:
            message = self._inline_messages.get(str(inline_id))
            if message is None:
                raise _bad("MESSAGE_ID_INVALID")
            return message, True
        chat = self._resolve_chat(params.get("chat_id"), for_send=True)
        if params.get("message_id") is None:
            raise _bad("message identifier is not specified")
        message_or_none = self._by_chat.get(chat.id, {}).get(int(params["message_id"]))
        if message_or_none is None or message_or_none.deleted:
            raise _bad(f"message to {what} not found")
        return message_or_none, False

    def _edit_text(self, params: JSONDict) -> JSONDict | bool:
        message, inline = self._find_editable(params)
        text, parse_mode, plain, entities = self._render(params)
        markup = self._markup(params)
        if (
            plain == message.plain_text
            and entities == message.entities
            and markup == message.reply_markup
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        self._flood_check(None if inline else self._chats.get(message.chat_id))
        now = self._now()
        message.text, message.parse_mode, message.plain_text = text, parse_mode, plain
        message.entities, message.reply_markup = entities, markup
        message.link_preview_disabled = self._preview_disabled(params)
        message.edits.append(Edit(text, plain, parse_mode, markup, now))
        self._record_event(message, "edited")
        return True if inline else self._message_json(message)

    def _edit_markup(self, params: JSONDict) -> JSONDict | bool:
        message, inline = self._find_editable(params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        self._flood_check(None if inline else self._chats.get(message.chat_id))
        message.reply_markup = markup
        message.edits.append(
            Edit(message.text, message.plain_text, message.parse_mode, markup, self._now())
        )
        self._record_event(message, "edited")
        return True if inline else self._message_json(message)

    def _delete_message(self, params: JSONDict) -> bool:
        chat = self._resolve_chat(params.get("chat_id"))
        message_id = params.get("message_id")
        message = self._by_chat.get(chat.id, {}).get(int(message_id or 0))
        if message is None or message.deleted:
            if self._user_messages.pop((chat.id, int(message_id or 0)), None) is not None:
                return True
            raise _bad("message to delete not found")
        message.deleted = True
        for listener in self.listeners:
            listener("deleted", message)
        return True

    def _answer_callback(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._pending_queries or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = CallbackAnswer(
            query_id,
            None if text is None else str(text),
            bool(params.get("show_alert")),
            params.get("url"),
            int(params.get("cache_time") or 0),
        )
        return True

    def _answer_inline(self, params: JSONDict) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._pending_queries or query_id in self.inline_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        ids = set()
        for result in results:
            if not isinstance(result, dict) or not result.get("id") or not result.get("type"):
                raise _bad("RESULT_ID_INVALID")
            if result["id"] in ids:
                raise _bad("RESULT_ID_DUPLICATE")
            ids.add(result["id"])
            if len(str(result["id"]).encode()) > 64:
                raise _bad("RESULT_ID_INVALID")
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._render(content, "message_text")
            if "reply_markup" in result:
                self._markup(result)
        self.inline_answers[query_id] = InlineAnswer(
            query_id,
            results,
            str(params.get("next_offset") or ""),
            int(params["cache_time"]) if params.get("cache_time") is not None else 300,
            bool(params.get("is_personal")),
            params.get("button") if isinstance(params.get("button"), dict) else None,
        )
        return True

    @staticmethod
    def _scope_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = commands
        return True

    def _get_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._scope_key(params), [])

    def _delete_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def get_commands(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[JSONDict]:
        """The command menu set for one language and scope (test helper)."""
        params: JSONDict = {"language_code": language_code, "scope": dict(scope or {})}
        if not scope:
            params.pop("scope")
        return self.commands.get(self._scope_key(params), [])

    def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._resolve_chat(params.get("chat_id"))
        data = chat.json()
        data.update(
            {
                "accent_color_id": abs(chat.id) % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return data

    def _member_json(self, chat: _Chat, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            status, rights = chat.bot_status, chat.bot_rights
        else:
            member = chat.members.get(user_id)
            if member is None:
                if user_id not in self._users:
                    raise _bad("user not found")
                status, rights = "left", {}
            else:
                status, rights = member.status, member.rights
        data: JSONDict = {"status": status, "user": self._users[user_id].json()}
        if status == "creator":
            data["is_anonymous"] = bool(rights.get("is_anonymous", False))
        elif status == "administrator":
            full = _admin_rights(chat.type)
            full.update(rights)
            data.update(full)
            data.setdefault("can_be_edited", False)
        elif status == "kicked":
            data["until_date"] = 0
        elif status == "restricted":
            data.update(
                {
                    "is_member": True,
                    "can_send_messages": bool(rights.get("can_send_messages", False)),
                    "can_send_audios": False,
                    "can_send_documents": False,
                    "can_send_photos": False,
                    "can_send_videos": False,
                    "can_send_video_notes": False,
                    "can_send_voice_notes": False,
                    "can_send_polls": False,
                    "can_send_other_messages": False,
                    "can_add_web_page_previews": False,
                    "can_change_info": False,
                    "can_invite_users": False,
                    "can_pin_messages": False,
                    "can_manage_topics": False,
                    "until_date": 0,
                }
            )
        return data

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._resolve_chat(params.get("chat_id"))
        if params.get("user_id") is None:
            raise _bad("user_id is empty")
        return self._member_json(chat, int(params["user_id"]))

    def _get_admins(self, params: JSONDict) -> list[JSONDict]:
        chat = self._resolve_chat(params.get("chat_id"))
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        ids = [u for u, m in chat.members.items() if m.status in {"creator", "administrator"}]
        if chat.bot_status == "administrator":
            ids.append(self.bot_id)
        return [self._member_json(chat, user_id) for user_id in ids]

    def _member_count(self, params: JSONDict) -> int:
        chat = self._resolve_chat(params.get("chat_id"))
        present = {"creator", "administrator", "member", "restricted"}
        count = sum(1 for m in chat.members.values() if m.status in present)
        if chat.type == "private":
            return 2
        return count + (1 if chat.bot_status in present else 0)

    def _send_chat_action(self, params: JSONDict) -> bool:
        chat = self._resolve_chat(params.get("chat_id"), for_send=True)
        action = str(params.get("action", ""))
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    def _true(self, params: JSONDict) -> bool:
        return True

    # -- updates and webhooks

    def _enqueue(self, kind: str, payload: JSONDict) -> None:
        if kind not in self._allowed_updates:
            return
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        if self._webhook_wakeup is not None:
            self._webhook_wakeup.set()
        if self._cond is not None and self._loop is not None:
            task = self._loop.create_task(self._notify())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _enqueue_chat_member(self, chat: _Chat, old: str, new: str, by_user_id: int) -> None:
        bot = self.bot_user.json()
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.json(),
                "from": self._ensure_user(by_user_id).json(),
                "date": self._date(),
                "old_chat_member": _simple_member(old, bot, chat.type),
                "new_chat_member": _simple_member(new, bot, chat.type),
            },
        )

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset < 0:
            while len(updates) > -offset:
                updates.popleft()
            return
        while updates and updates[0]["update_id"] < offset:
            updates.popleft()

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATES
        if params.get("offset") is not None:
            self._confirm(int(params["offset"]))
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # wake (and terminate) an older long poll
        if not self._updates and timeout > 0 and not self._closing:
            cond = self._require_cond()
            async with cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        cond.wait_for(
                            lambda: (
                                bool(self._updates)
                                or self._closing
                                or self._poll_generation != generation
                            )
                        ),
                        timeout,
                    )
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        return list(itertools.islice(self._updates, limit))

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATES
        if url and not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self.webhook_secret = None if secret is None else str(secret)
        if url:
            if self._webhook_task is None or self._webhook_task.done():
                self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
            if self._webhook_wakeup is not None:
                self._webhook_wakeup.set()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        self.webhook_secret = None
        return True

    def _webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "max_connections": 40,
        }
        if self._allowed_updates != _DEFAULT_UPDATES:
            info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _webhook_loop(self) -> None:
        """Push queued updates to the webhook in order, one at a time, retrying failures."""
        wakeup = self._webhook_wakeup
        assert wakeup is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        session = self._session
        while not self._closing:
            if not self.webhook_url or not self._updates:
                wakeup.clear()
                await wakeup.wait()
                continue
            update = self._updates[0]
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            try:
                async with session.post(
                    self.webhook_url, data=json.dumps(update), headers=headers
                ) as response:
                    ok = 200 <= response.status < 300
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok, error = False, f"Connection failed: {exc}"
            if ok:
                if self._updates and self._updates[0] is update:
                    self._updates.popleft()
                self.webhook_deliveries += 1
                await self._notify()
            else:
                self._webhook_last_error = (self._date(), error)
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    # back off, but let a new setWebhook / stop cut the wait short
                    await asyncio.wait_for(wakeup.wait(), self.webhook_retry_delay)

    _methods: ClassVar[dict[str, Callable[[TelegramDouble, JSONDict], Any]]] = {
        "getme": _get_me,
        "getupdates": _true,  # handled asynchronously in _dispatch
        "sendmessage": _send_message,
        "editmessagetext": _edit_text,
        "editmessagereplymarkup": _edit_markup,
        "deletemessage": _delete_message,
        "answercallbackquery": _answer_callback,
        "answerinlinequery": _answer_inline,
        "setmycommands": _set_commands,
        "getmycommands": _get_commands,
        "deletemycommands": _delete_commands,
        "getchat": _get_chat,
        "getchatmember": _get_chat_member,
        "getchatadministrators": _get_admins,
        "getchatmembercount": _member_count,
        "getchatmemberscount": _member_count,
        "sendchataction": _send_chat_action,
        "setwebhook": _set_webhook,
        "deletewebhook": _delete_webhook,
        "getwebhookinfo": _webhook_info,
        "close": _true,
        "logout": _true,
    }


_NOTIFYING = frozenset(
    {
        "sendmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "answercallbackquery",
        "answerinlinequery",
        "deletemessage",
    }
)


def _too_many(wait: float) -> ApiError:
    retry_after = max(1, math.ceil(wait))
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _admin_rights(chat_type: str, *, is_anonymous: bool = False) -> dict[str, Any]:
    rights: dict[str, Any] = {"can_be_edited": False, "is_anonymous": is_anonymous}
    rights.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    if chat_type == "channel":
        rights.update(dict.fromkeys(_CHANNEL_RIGHTS, True))
    else:
        rights.update(dict.fromkeys(_GROUP_RIGHTS, True))
    return rights


def _simple_member(status: str, user: JSONDict, chat_type: str) -> JSONDict:
    data: JSONDict = {"status": status, "user": user}
    if status == "administrator":
        data.update(_admin_rights(chat_type))
    elif status == "creator":
        data["is_anonymous"] = False
    elif status == "kicked":
        data["until_date"] = 0
    elif status == "restricted":
        data.update({"is_member": True, "until_date": 0, "can_send_messages": False})
    return data


def _command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities with UTF-16 offsets, as Telegram attaches them."""
    entities: list[JSONDict] = []
    for match in _COMMAND_RE.finditer(text):
        start = utf16_len(text[: match.start()])
        entities.append(
            {"type": "bot_command", "offset": start, "length": utf16_len(match.group())}
        )
    return entities


def _coerce(name: str, value: str) -> Any:
    """Undo PTB's form encoding: strings are raw, everything else is JSON."""
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None
    if name in _BOOL_FIELDS:
        return value.lower() in {"true", "1"}
    if name == "chat_id" and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


async def _read_params(request: web.Request) -> JSONDict:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: JSONDict = {k: _coerce(k, v) for k, v in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        for key, value in body.items():
            params[key] = _coerce(key, value) if isinstance(value, str) else value
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            params[key] = _coerce(key, value)
        else:  # an uploaded file: keep its name, the double stores no files
            params[key] = {"filename": getattr(value, "filename", "")}
    return params


def _json_response(body: JSONDict, status: int) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
    )
