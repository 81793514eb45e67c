"""Telegram HTML as terminal text, for `tickerbot demo`: bold stays bold (ANSI, when the
terminal supports it), links show their address, buttons are numbered so they can be pressed."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

BOLD, ITALIC, UNDERLINE, DIM, RESET = "\x1b[1m", "\x1b[3m", "\x1b[4m", "\x1b[2m", "\x1b[0m"


class _TelegramHtml(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.out: list[str] = []
        self._links: list[str] = []

    def _style(self, code: str) -> None:
        if self.color:
            self.out.append(code)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("b", "strong"):
            self._style(BOLD)
        elif tag in ("i", "em"):
            self._style(ITALIC)
        elif tag in ("u", "ins"):
            self._style(UNDERLINE)
        elif tag == "a":
            self._links.append(dict(attrs).get("href") or "")
            self._style(UNDERLINE)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            href = self._links.pop() if self._links else ""
            self._style(RESET)
            if href:
                self.out.append(f" ‹{href}›")
        elif tag in ("b", "strong", "i", "em", "u", "ins"):
            self._style(RESET)

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_terminal(text: str, *, color: bool) -> str:
    parser = _TelegramHtml(color)
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


def buttons_of(reply_markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not reply_markup:
        return []
    rows = reply_markup.get("inline_keyboard") or []
    return [button for row in rows for button in row]


def format_message(
    prefix: str, text: str, reply_markup: dict[str, Any] | None, *, color: bool, edited: bool
) -> str:
    """One bot message as a terminal block: header, text, numbered buttons."""
    label = f"{prefix} (bearbeitet)" if edited else prefix
    header = f"{BOLD}{label}{RESET}" if color else label
    lines = [header, *html_to_terminal(text, color=color).splitlines()]
    buttons = buttons_of(reply_markup)
    if buttons:
        numbered = [f"[{i}] {b.get('text', '')}" for i, b in enumerate(buttons, start=1)]
        hint = "  (Zahl eingeben zum Drücken)"
        lines.append("  ".join(numbered) + (f"{DIM}{hint}{RESET}" if color else hint))
    return "\n".join(f"  {line}" if i else line for i, line in enumerate(lines))
