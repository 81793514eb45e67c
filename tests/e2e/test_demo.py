"""`tickerbot demo` driven through its stdin, as a newcomer would type into it."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.sandbox.sample_feed import SAMPLES


class DemoSession:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = ""

    async def expect(self, *needles: str, timeout: float = 20.0) -> str:  # noqa: ASYNC109
        """Read until every needle appeared after the current position; return that chunk."""
        start = len(self.output)
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while not all(n in self.output[start:] for n in needles):
                    chunk = await self.process.stdout.read(4096)
                    if not chunk:
                        raise AssertionError(f"demo ended before {needles!r}:\n{self.output}")
                    self.output += chunk.decode("utf-8", errors="replace")
        except TimeoutError:
            raise AssertionError(f"no {needles!r} in:\n{self.output}") from None
        return self.output[start:]

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()


async def test_demo_answers_commands_and_pushes_entries() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TICKERBOT_CONFIG", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--entry-every",
        "1",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    demo = DemoSession(process)
    try:
        await demo.expect("this terminal is your Telegram chat")
        await demo.type("/start")
        greeting = await demo.expect("bot ▸", "/latest")
        assert "Abonniert" in greeting
        headlines = [sample.headline for sample in SAMPLES]
        start = len(demo.output)
        async with asyncio.timeout(30):
            while not any(h in demo.output[start:] for h in headlines):
                await demo.expect("bot ▸")
        pushed = demo.output[start:]
        assert "‹http://127.0.0.1:" in pushed  # links are shown with their address
        await demo.type("/region Belgorod")
        assert "Belgorod" in await demo.expect("Filter")
        await demo.type("/search Drohne")
        found = await demo.expect("Drohne")
        assert "bot ▸" in found
        await demo.type("@tickerbot_demo_bot Charkiw")
        assert "inline ▸" in await demo.expect("inline ▸")
        await demo.type("/sources")
        await demo.expect("[1]", "[2]")
        await demo.type("2")
        await demo.expect("(bearbeitet)")
        assert process.stdin is not None
        process.stdin.close()
        await demo.expect("demo ended.")
        assert await asyncio.wait_for(process.wait(), timeout=20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    errors = (await process.stderr.read()).decode()
    assert "Traceback" not in errors, errors
