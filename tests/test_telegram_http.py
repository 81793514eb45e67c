"""``AiohttpRequest``: PTB's HTTP layer on aiohttp, against the Bot API double and local servers.

What must hold is what PTB's own ``HTTPXRequest`` gives the bot: every Bot API call works
(JSON bodies, multipart uploads, GET downloads, long polling), Telegram's answers become the
same exceptions, each timeout fires where it should and becomes ``TimedOut``, and the bot
token never appears in an error or log line (aiohttp quotes the URL in some messages).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.sandbox.telegram_double import TelegramDouble
from bot.telegram_http import POOL_TIMEOUT_MESSAGE, AiohttpRequest, _html5_escape

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    # do_api_request for a method PTB has (what the sender does on purpose)
    pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage':UserWarning"),
]
BOT_USER = {"id": 42, "is_bot": True, "first_name": "Ticker", "username": "tickerbot_test_bot"}

TOKEN = "123456:AAF-secret-token-abcdefghijklmnopqrs"
SECRET = TOKEN.split(":")[1]
USER = 1001
GROUP = -5001
SUPERGROUP = -1005001
MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": USER, "type": "private"}}


@pytest.fixture
async def double() -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble(TOKEN, bot_username="tickerbot_test_bot") as server:
        server.add_private_chat(USER, "Anna")
        server.add_group(GROUP, "Runde", admins=[USER])
        yield server


def make_bot(base_url: str, token: str = TOKEN, **request: Any) -> Bot:
    return Bot(
        token,
        base_url=base_url,
        request=AiohttpRequest(4, secrets=[TOKEN], **request),
        get_updates_request=AiohttpRequest(1, secrets=[TOKEN]),
    )


@pytest.fixture
async def bot(double: TelegramDouble) -> AsyncIterator[Bot]:
    async with make_bot(double.base_url) as client:
        yield client


@contextmanager
def local_server_port() -> Iterator[int]:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield port


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/bot"


def request_data(**params: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


def assert_no_token(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    assert TOKEN not in text and SECRET not in text, text
    assert error.__cause__ is None and error.__suppress_context__


# ---- through the Bot API double --------------------------------------------------------------


async def test_api_calls_round_trip_as_json(bot: Bot, double: TelegramDouble) -> None:
    me = await bot.get_me()
    assert me.username == "tickerbot_test_bot"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mehr", callback_data="more:1")]])
    sent = await bot.send_message(
        USER,
        "<b>18:13</b> · Ä &lt;3 😀",
        parse_mode="HTML",
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert sent.text == "18:13 · Ä <3 😀" and sent.chat.id == USER
    record = double.messages_to(USER)[0]
    assert record.reply_markup == markup.to_dict()
    assert record.link_preview_disabled and record.disable_notification
    raw = await bot.do_api_request("sendMessage", api_kwargs={"chat_id": USER, "text": "roh"})
    assert raw["text"] == "roh" and raw["message_id"] == sent.message_id + 1
    assert double.content_types["application/json"] >= 3
    assert double.unknown_methods == []


async def test_telegram_errors_become_ptb_exceptions(bot: Bot, double: TelegramDouble) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "x")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>x", parse_mode="HTML")
    double.migrate(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(GROUP, "x")
    assert migrated.value.new_chat_id == SUPERGROUP
    double.flood(3, count=1)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(USER, "x")
    assert flood.value.retry_after == 3
    double.fail_next(1, status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "x")
    double.fail_next(1, status=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    double.block(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "x")


async def test_rejected_token(double: TelegramDouble) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(double.base_url, token="999:wrong-token"):
            pass
    async with make_bot(double.base_url) as client:
        double.token = "654321:another-token"  # revoked while running
        with pytest.raises(InvalidToken):
            await client.send_message(USER, "x")
        # what the sender's do_api_request sees instead (and handles like InvalidToken)
        with pytest.raises(EndPointNotFound):
            await client.do_api_request("sendMessage", api_kwargs={"chat_id": USER, "text": "x"})


async def test_read_timeout_default_and_per_call(double: TelegramDouble) -> None:
    async with make_bot(double.base_url, read_timeout=0.3) as client:
        assert client.request.read_timeout == 0.3
        double.delay_next(1, seconds=1.0)
        with pytest.raises(TimedOut) as caught:
            await client.send_message(USER, "slow")
        assert_no_token(caught.value)
        # the message arrived anyway, like a real timeout
        assert double.messages_to(USER)[-1].text == "slow"
        double.delay_next(1, seconds=0.5)
        sent = await client.send_message(USER, "patient", read_timeout=2.0)
        assert sent.text == "patient"


async def test_long_polling_gets_its_wait_added_to_the_read_timeout(
    double: TelegramDouble,
) -> None:
    updates_request = AiohttpRequest(1, read_timeout=0.3, secrets=[TOKEN])
    async with Bot(
        TOKEN,
        base_url=double.base_url,
        request=AiohttpRequest(4),
        get_updates_request=updates_request,
    ) as client:
        # PTB waits read_timeout + timeout for getUpdates: a 1 s poll with nothing to get
        assert await client.get_updates(timeout=1) == ()
        double.send_text(USER, USER, "/start")
        updates = await client.get_updates(timeout=1)
        assert [u.message.text for u in updates if u.message] == ["/start"]


async def test_shutdown_and_initialize_again(double: TelegramDouble) -> None:
    request = AiohttpRequest(2)
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(double.base_url + TOKEN + "/getMe", "POST")
    for _ in range(2):
        async with request:
            status, payload = await request.do_request(double.base_url + TOKEN + "/getMe", "POST")
            assert status == 200 and json.loads(payload)["result"]["is_bot"]
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(double.base_url + TOKEN + "/getMe", "POST")


# ---- local servers: bodies, timeouts, errors ---------------------------------------------------


async def test_multipart_upload_and_get_download() -> None:
    seen: dict[str, Any] = {}

    async def send_document(request: web.Request) -> web.Response:
        seen["content_type"] = request.content_type
        form = await request.post()
        upload = form["document"]
        assert isinstance(upload, web.FileField)
        seen["file"] = (upload.filename, upload.file.read())
        seen["fields"] = {k: v for k, v in form.items() if isinstance(v, str)}
        return web.json_response({"ok": True, "result": MESSAGE})

    async def download(request: web.Request) -> web.Response:
        seen["get_headers"] = dict(request.headers)
        return web.Response(body=b"\x00file-bytes\xff")

    async def get_me(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": BOT_USER})

    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/getMe", get_me)
    app.router.add_post(f"/bot{TOKEN}/sendDocument", send_document)
    app.router.add_get(f"/file/bot{TOKEN}/doc.bin", download)
    runner, base = await serve(app)
    try:
        async with make_bot(base) as client:
            message = await client.send_document(
                USER,
                document=InputFile(io.BytesIO(b"hello"), filename="grüße.txt"),
                caption="Bericht",
                disable_notification=True,
            )
            assert message.message_id == 7
            data = await client.request.retrieve(base.replace("/bot", f"/file/bot{TOKEN}/doc.bin"))
    finally:
        await runner.cleanup()
    assert seen["content_type"] == "multipart/form-data"
    assert seen["file"] == ("grüße.txt", b"hello")
    assert seen["fields"]["chat_id"] == str(USER) and seen["fields"]["caption"] == "Bericht"
    assert seen["fields"]["disable_notification"] == "true"
    assert data == b"\x00file-bytes\xff"
    assert "Content-Type" not in seen["get_headers"]
    assert seen["get_headers"]["User-Agent"].startswith("python-telegram-bot")


async def test_pool_timeout_does_not_send() -> None:
    arrived = 0

    async def slow(_: web.Request) -> web.Response:
        nonlocal arrived
        arrived += 1
        await asyncio.sleep(0.5)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/slow", slow)
    runner, base = await serve(app)
    try:
        async with AiohttpRequest(1, pool_timeout=0.1) as request:
            url = f"{base}{TOKEN}/slow"
            first = asyncio.create_task(request.do_request(url, "POST", request_data(a=1)))
            await asyncio.sleep(0.05)
            with pytest.raises(TimedOut) as caught:
                await request.do_request(url, "POST", request_data(a=2))
            assert caught.value.message == POOL_TIMEOUT_MESSAGE
            assert (await first)[0] == 200
            # a free slot again: the pool does not stay short of one
            assert (await request.do_request(url, "POST", request_data(a=3)))[0] == 200
    finally:
        await runner.cleanup()
    assert arrived == 2


class _NeverReads(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # the socket buffers fill up, the client's write blocks


@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_write_timeout_json_and_multipart() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_NeverReads, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
    big = "x" * (32 * 2**20)  # more than loopback's socket buffers hold
    try:
        async with AiohttpRequest(2, write_timeout=0.3, media_write_timeout=0.3) as request:
            with pytest.raises(TimedOut) as caught:
                await request.do_request(url, "POST", request_data(chat_id=USER, text=big))
            assert_no_token(caught.value)
            upload = InputFile(io.BytesIO(big.encode()), filename="big.bin")
            with pytest.raises(TimedOut):
                await request.do_request(url, "POST", request_data(chat_id=USER, document=upload))
    finally:
        server.close()
        await server.wait_closed()


async def test_connect_timeout_hides_the_url() -> None:
    # A listening socket whose accept queue is full: further SYNs go unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            await asyncio.sleep(0.05)
            async with AiohttpRequest(1, connect_timeout=0.3) as request:
                with pytest.raises(TimedOut) as caught:
                    await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
            # aiohttp's own message here is "Connection timeout to host <the whole URL>"
            assert_no_token(caught.value)
        finally:
            for filler in fillers:
                filler.close()


async def test_network_errors_hide_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with local_server_port() as port:
        async with AiohttpRequest(1) as request:
            with pytest.raises(NetworkError) as refused:
                await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
            assert str(refused.value).startswith("aiohttp.ClientConnectorError")
            assert_no_token(refused.value)
            # aiohttp names the whole URL in this one; the request redacts it (url and path)
            with pytest.raises(NetworkError) as scheme:
                await request.do_request(f"ftp://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
            assert "NonHttpUrlClientError" in str(scheme.value) and "[REDACTED]" in str(
                scheme.value
            )
            assert_no_token(scheme.value)
    # and through PTB's Bot, whose own debug logging is on
    with local_server_port() as port:
        client = make_bot(f"http://127.0.0.1:{port}/bot")
        caplog.clear()  # PTB itself logs the URL it was given, at DEBUG, when built
        with pytest.raises(NetworkError) as through_bot:
            await client.initialize()
        assert_no_token(through_bot.value)
        await client.shutdown()
    logged = caplog.text + "".join(
        "".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info
    )
    assert TOKEN not in logged and SECRET not in logged


async def test_secrets_are_redacted_wherever_they_appear() -> None:
    request = AiohttpRequest(1, secrets=["s3cr3t-value"])
    url = f"http://h/bot{TOKEN}/getMe"
    text = f"failed for {url}, path /bot{TOKEN}/getMe, also s3cr3t-value"
    assert request._redact(text, url) == "failed for [REDACTED], path [REDACTED], also [REDACTED]"


async def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        body = json.dumps({"ok": True, "result": True}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with AiohttpRequest(1) as request:
            url = f"http://api.telegram.invalid/bot{TOKEN}/deleteWebhook"
            status, payload = await request.do_request(url, "POST", request_data(a=1))
    finally:
        server.close()
        await server.wait_closed()
    assert status == 200 and json.loads(payload) == {"ok": True, "result": True}
    assert lines == [f"POST {url} HTTP/1.1".encode()]


def test_file_names_are_escaped_like_httpx() -> None:
    assert _html5_escape('grüße "neu"\n.txt') == "grüße %22neu%22%0A.txt"


def test_constructor_checks_the_pool_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(0)
    assert issubclass(TimedOut, NetworkError) and issubclass(NetworkError, TelegramError)
