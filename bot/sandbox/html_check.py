"""Telegram HTML parse mode, parsed the way the Bot API server (TDLib's ``parse_html``) does.

Why a hand-written scanner instead of :mod:`html.parser`: Telegram is far stricter than a browser
and its error messages are part of what a test asserts on. Only a small set of tags is accepted,
only four named entities are decoded (any other ``&name;`` stays literal text, as in TDLib), a
``<`` that does not open a supported tag is an error, and tags must nest properly. Errors quote a
byte offset into the UTF-8 text, like Telegram.

The scan is a single left-to-right pass (linear in the input), because the benchmarks push
tens of thousands of messages through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALLOWED_TAGS",
    "HtmlParseError",
    "ParsedText",
    "parse_html",
    "utf16_len",
]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)

_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
}

_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\f\v"
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_SPECIAL = re.compile(r"[<&]")


class HtmlParseError(ValueError):
    """Text that Telegram would refuse; ``str(err)`` is the part after "can't parse entities: "."""


@dataclass(slots=True)
class ParsedText:
    """The result of parsing: the plain text Telegram stores and the entities it derived."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets.

    Characters outside the BMP (most emoji) count twice. ASCII is the common case and needs no
    encoding; otherwise the C encoder is far faster than counting astral characters in Python.
    """
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, pos: int) -> int:
    """UTF-8 byte offset of ``pos``: only computed for error messages."""
    return len(text[:pos].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the entity starting at ``text[pos] == '&'``; None if TDLib would leave it literal."""
    end = text.find(";", pos + 1, pos + 12)
    if end < 0:
        return None
    body = text[pos + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end + 1
    if body.startswith("#") and len(body) > 1:
        try:
            code = int(body[2:], 16) if body[1] in "xX" else int(body[1:], 10)
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None


@dataclass(slots=True)
class _Open:
    tag: str
    begin: int  # utf-16 offset in the output
    argument: str
    expandable: bool


def parse_html(text: str) -> ParsedText:
    """Parse ``text`` as Telegram HTML; raise :class:`HtmlParseError` with Telegram's wording."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    offset = 0  # utf-16 length of what is in ``out``
    n = len(text)
    i = 0
    while i < n:
        match = _SPECIAL.search(text, i)
        stop = match.start() if match else n
        if stop > i:
            chunk = text[i:stop]
            out.append(chunk)
            offset += utf16_len(chunk)
            i = stop
            if i >= n:
                break
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                out.append("&")
                offset += 1
                i += 1
            else:
                out.append(decoded[0])
                offset += utf16_len(decoded[0])
                i = decoded[1]
            continue
        # ch == "<"
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise HtmlParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            name_start = i
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            top = stack.pop()
            if end_name != top.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{top.tag}>", found "</{end_name}>"'
                )
            length = offset - top.begin
            if length > 0:
                entities.append(_make_entity(top, length))
            continue
        name_start = i
        while i < n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[name_start:i].lower()
        if tag not in ALLOWED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        argument = ""
        expandable = False
        while True:
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            if text[i] == ">":
                break
            attr_start = i
            while i < n and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i].lower()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{_byte_offset(text, attr_start)}"
                )
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            if text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    expandable = True
                    continue
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            if text[i] not in "'\"":
                token = _NAME_TOKEN.match(text, i)
                token_end = token.end() if token else i
                value = text[i:token_end].lower()
                i = token_end
                if i >= n or (text[i] not in _SPACE and text[i] != ">"):
                    raise HtmlParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                    )
            else:
                quote = text[i]
                i += 1
                parts: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_entity(text, i)
                        if decoded is not None:
                            parts.append(decoded[0])
                            i = decoded[1]
                            continue
                    parts.append(text[i])
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                i += 1
                value = "".join(parts)
            if (
                (tag == "a" and attr == "href")
                or (tag == "span" and attr == "class")
                or (tag == "tg-emoji" and attr == "emoji-id")
                or (tag == "tg-time" and attr == "unix")
                or (tag == "code" and attr == "class" and value.startswith("language-"))
            ):
                argument = value
        if tag == "span" and argument != "tg-spoiler":
            raise HtmlParseError(
                'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise HtmlParseError(
                f"Invalid custom emoji identifier specified at byte offset "
                f"{_byte_offset(text, begin)}"
            )
        if tag == "tg-time" and not argument.isdigit():
            raise HtmlParseError(
                f'Tag "tg-time" must have "unix" attribute at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        i += 1  # past '>'
        stack.append(_Open(tag, offset, argument, expandable))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _make_entity(item: _Open, length: int) -> dict[str, Any]:
    """The MessageEntity Telegram would report for a closed tag."""
    kind = _ENTITY_TYPE[item.tag]
    entity: dict[str, Any] = {"type": kind, "offset": item.begin, "length": length}
    if item.tag == "a":
        if item.argument.startswith("tg://user?id="):
            entity = {**entity, "type": "text_mention"}
        entity["url"] = item.argument
    elif item.tag == "blockquote" and item.expandable:
        entity["type"] = "expandable_blockquote"
    elif item.tag == "tg-emoji":
        entity["custom_emoji_id"] = item.argument
    elif item.tag == "tg-time":
        entity["unix_time"] = int(item.argument)
    elif item.tag == "code" and item.argument:
        # TDLib turns <pre><code class="language-x"> into a pre entity with a language; a lone
        # <code class=...> stays code. Keeping the language on the code entity is enough here.
        entity["language"] = item.argument[len("language-") :]
    return entity
