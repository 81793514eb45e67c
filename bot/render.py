"""Telegram HTML rendering of ticker entries (SPEC §5), pure: no Telegram imports.

One entry reads::

    <b>18:13</b> · <b>Headline</b>
    Body paragraph one
    Body paragraph two, shortened at a word boundary …
    📍 Pokrowsk · 🗣 Maria Sacharowa · <a href="https://…">Liveticker Ukraine-Krieg</a>

Several entries (a batched message) are separated by a blank line.

Why it is built the way it is (TELEGRAM_NOTES.md):

* Telegram rejects a message over 4096 characters, counted on the text *after* HTML
  parsing (we also keep the UTF-16 length of that text within the limit, since Telegram
  measures entities in UTF-16 code units and emoji/astral characters count twice there), and
  a send also fails if the HTML itself is malformed. So the limit is checked on both the
  markup length and the parsed length.
* The classic bug is cutting rendered HTML mid-tag or mid-entity ("can't parse entities").
  Here plain text is shortened *first* and escaped and wrapped in markup afterwards; the
  cost of a piece of plain text (its escaped length, its UTF-16 length) is computed exactly,
  so rendered HTML is never cut.
* Only ``<b>`` and ``<a href>`` are emitted, and every text goes through ``html.escape``,
  so the only named entities are ``&lt; &gt; &amp; &quot;`` (plus numeric ``&#x27;`` inside
  ``href``). At most 3 entities per entry keeps a 20-entry batch below Telegram's ~100.

Shortening order (``render_entries``):

1. Bodies are shortened at a word boundary with `` …`` (a space before the ellipsis, as in
   the SPEC example, because whole words were left out). In a batch the body budget is
   shared max-min fairly: short bodies stay whole, long ones get equal shares.
2. If the headlines, times and footers alone do not fit, all bodies are dropped.
3. Only if even that does not fit — headlines of thousands of characters — are headlines
   cut (fairly, with ``…``). This is the *only* case in which a headline is cut.
4. Pathological input whose times and footers alone exceed the limit (e.g. hundreds of
   regions or a multi-kilobyte source name) degrades to the shortened, escaped plain text
   without markup, which is still a valid message within the limit.

A word that has no whitespace before the cut point (a giant URL-like token) is cut inside
the word with ``…`` and no space, never inside a combining sequence or emoji ZWJ sequence.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "TELEGRAM_TEXT_LIMIT",
    "RenderedEntry",
    "format_time",
    "render_entries",
    "render_plain",
]

TELEGRAM_TEXT_LIMIT = 4096

_SEP = " · "
_ENTRY_GAP = "\n\n"
_REGION_MARK = "📍 "
_SPEAKER_MARK = "🗣 "
_CUT = "…"
_WORD_CUT = " …"
_NO_CUT_BEFORE = frozenset("\u200d\ufe0e\ufe0f") | frozenset(map(chr, range(0x1F3FB, 0x1F400)))
"""Characters that attach to the one before (ZWJ, variation selectors, skin tones)."""

_MIN_BODY_WORD_CUT = 20
"""A body is cut inside a word only if at least this much of the word is kept."""

_Cost = tuple[int, int]
"""(characters of escaped HTML, UTF-16 code units of the parsed text)."""


@dataclass(frozen=True, slots=True)
class RenderedEntry:
    """What a message shows of one entry; built by the sender from an Entry and its source."""

    published_at: datetime
    headline: str
    body: str
    url: str | None
    regions: tuple[str, ...]
    speakers: tuple[str, ...]
    source_name: str
    source_url: str | None


def format_time(dt: datetime, tz: ZoneInfo) -> str:
    """``HH:MM`` of ``dt`` in ``tz``; a naive ``dt`` is taken as UTC, not as server time."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(tz).strftime("%H:%M")


# --- plain-text normalisation and costs ----------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _paragraphs(text: str) -> str:
    """Paragraphs one per line, blank lines dropped: a blank line separates *entries*."""
    lines = (_one_line(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cost(text: str) -> _Cost:
    return len(_esc(text)), _utf16_len(text)


def _char_cost(ch: str) -> _Cost:
    if ch == "&":
        return 5, 1
    if ch in "<>":
        return 4, 1
    return 1, (2 if ord(ch) > 0xFFFF else 1)


def _prefix_len(text: str, budget_h: int, budget_u: int) -> int:
    """Length of the longest prefix of ``text`` whose cost fits the budget."""
    used_h = used_u = 0
    for index, ch in enumerate(text):
        ch_h, ch_u = _char_cost(ch)
        used_h += ch_h
        used_u += ch_u
        if used_h > budget_h or used_u > budget_u:
            return index
    return len(text)


def _shorten(text: str, budget_h: int, budget_u: int, *, min_word_cut: int = 1) -> str | None:
    """``text`` itself if it fits, else its longest word-boundary prefix + `` …`` that fits.

    Falls back to a cut inside a word (+ ``…``) when the fitting prefix has no whitespace
    and keeps at least ``min_word_cut`` characters (so a body never shrinks to "Te…": a
    word is only cut when it is a giant token); otherwise returns None.
    """
    cost_h, cost_u = _cost(text)
    if cost_h <= budget_h and cost_u <= budget_u:
        return text
    wc_h, wc_u = _cost(_WORD_CUT)
    k = _prefix_len(text, budget_h - wc_h, budget_u - wc_u)  # k < len(text): text did not fit
    boundary = k
    while boundary > 0 and not text[boundary].isspace():
        boundary -= 1
    if boundary > 0:
        prefix = text[:boundary].rstrip()
        if prefix:
            return prefix + _WORD_CUT
    c_h, c_u = _cost(_CUT)
    k = _prefix_len(text, budget_h - c_h, budget_u - c_u)
    while k > 0 and (
        unicodedata.combining(text[k]) or text[k] in _NO_CUT_BEFORE or text[k - 1] == "\u200d"
    ):
        k -= 1
    return text[:k] + _CUT if k >= max(min_word_cut, 1) else None


def _water_fill(needs: Sequence[int], budget: int) -> list[int]:
    """Max-min fair shares: needs below the fair share are met, the rest split evenly."""
    shares = [0] * len(needs)
    remaining = max(budget, 0)
    left = len(needs)
    for index in sorted(range(len(needs)), key=needs.__getitem__):
        shares[index] = min(needs[index], remaining // left)
        remaining -= shares[index]
        left -= 1
    return shares


def _share_out(
    texts: Sequence[str], budget: _Cost, overhead: _Cost, *, min_word_cut: int = 1
) -> list[str | None]:
    """Shorten ``texts`` so that the costs of the non-empty ones (+ overhead each) fit.

    Each text gets its fair share of both budgets; what shortening at word boundaries
    leaves unused is then offered to the shortened texts in order. None marks a text for
    which not even ``…`` fitted (the caller drops it, or gives up on this layout).
    """
    needs = [_plus(_cost(text), overhead) if text else (0, 0) for text in texts]
    if sum(n[0] for n in needs) <= budget[0] and sum(n[1] for n in needs) <= budget[1]:
        return list(texts)
    shares_h = _water_fill([n[0] for n in needs], budget[0])
    shares_u = _water_fill([n[1] for n in needs], budget[1])
    out: list[str | None] = []
    used: list[_Cost] = []
    for text, need, share_h, share_u in zip(texts, needs, shares_h, shares_u, strict=True):
        if need[0] <= share_h and need[1] <= share_u:
            out.append(text)
            used.append(need)
            continue
        cut = _shorten(
            text, share_h - overhead[0], share_u - overhead[1], min_word_cut=min_word_cut
        )
        out.append(cut)
        used.append((0, 0) if cut is None else _plus(_cost(cut), overhead))
    left_h = budget[0] - sum(u[0] for u in used)
    left_u = budget[1] - sum(u[1] for u in used)
    for index, text in enumerate(texts):
        if out[index] == text or left_h <= 0 or left_u <= 0:
            continue
        more = _shorten(
            text,
            used[index][0] + left_h - overhead[0],
            used[index][1] + left_u - overhead[1],
            min_word_cut=min_word_cut,
        )
        if more is not None and (out[index] is None or len(more) > len(out[index] or "")):
            new = _plus(_cost(more), overhead)
            left_h -= new[0] - used[index][0]
            left_u -= new[1] - used[index][1]
            out[index], used[index] = more, new
    return out


def _plus(a: _Cost, b: _Cost) -> _Cost:
    return a[0] + b[0], a[1] + b[1]


# --- layout --------------------------------------------------------------------------------


def _safe_href(href: str | None) -> str | None:
    """An http(s) URL Telegram will accept as a link, else None (the name stays plain text)."""
    if not href:
        return None
    href = href.strip()
    if not href.lower().startswith(("http://", "https://")):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in href):
        return None
    return href


@dataclass(frozen=True, slots=True)
class _Parts:
    time: str
    headline: str
    body: str
    tags: str  # "📍 A, B · 🗣 C", or ""
    link_text: str
    href: str | None

    @classmethod
    def of(cls, entry: RenderedEntry, tz: ZoneInfo) -> _Parts:
        regions = [r for r in map(_one_line, entry.regions) if r]
        speakers = [s for s in map(_one_line, entry.speakers) if s]
        tags = []
        if regions:
            tags.append(_REGION_MARK + ", ".join(regions))
        if speakers:
            tags.append(_SPEAKER_MARK + ", ".join(speakers))
        href = _safe_href(entry.url) or _safe_href(entry.source_url)
        return cls(
            time=format_time(entry.published_at, tz),
            headline=_one_line(entry.headline),
            body=_paragraphs(entry.body),
            tags=_SEP.join(tags),
            link_text=_one_line(entry.source_name) or (href or ""),
            href=href,
        )

    def html(self, headline: str, body: str) -> str:
        first = f"<b>{_esc(self.time)}</b>"
        if headline:
            first += f"{_SEP}<b>{_esc(headline)}</b>"
        lines = [first]
        if body:
            lines.append(_esc(body))
        footer = [_esc(self.tags)] if self.tags else []
        if self.link_text:
            text = _esc(self.link_text)
            if self.href:
                text = f'<a href="{html.escape(self.href, quote=True)}">{text}</a>'
            footer.append(text)
        if footer:
            lines.append(_SEP.join(footer))
        return "\n".join(lines)

    def text(self, headline: str, body: str, *, with_url: bool = False) -> str:
        """The plain text; with ``with_url=False`` exactly what Telegram parses out of html()."""
        first = self.time + (f"{_SEP}{headline}" if headline else "")
        lines = [first]
        if body:
            lines.append(body)
        footer = [self.tags] if self.tags else []
        if self.link_text:
            link = self.link_text
            if with_url and self.href and self.href != link:
                link = f"{link} <{self.href}>"
            footer.append(link)
        if footer:
            lines.append(_SEP.join(footer))
        return "\n".join(lines)

    def cost(self, headline: str, body: str) -> _Cost:
        return len(self.html(headline, body)), _utf16_len(self.text(headline, body))


def _fits(message_html: str, message_text: str, limit: int) -> bool:
    return len(message_html) <= limit and _utf16_len(message_text) <= limit


def _join(
    parts: Sequence[_Parts], headlines: Sequence[str], bodies: Sequence[str]
) -> tuple[str, str]:
    rendered = [p.html(h, b) for p, h, b in zip(parts, headlines, bodies, strict=True)]
    parsed = [p.text(h, b) for p, h, b in zip(parts, headlines, bodies, strict=True)]
    return _ENTRY_GAP.join(rendered), _ENTRY_GAP.join(parsed)


def render_entries(
    entries: Sequence[RenderedEntry], tz: ZoneInfo, *, limit: int = TELEGRAM_TEXT_LIMIT
) -> str:
    """One Telegram HTML message for ``entries`` (oldest first, as given), within ``limit``.

    ``tz`` is the zone the times are shown in (the chat's or the source's). The result is
    at most ``limit`` characters long and so is (in UTF-16 code units) the text Telegram
    parses out of it. See the module docstring for the order in which things are shortened.
    An empty sequence renders as "".
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not entries:
        return ""
    parts = [_Parts.of(entry, tz) for entry in entries]
    gaps = len(_ENTRY_GAP) * (len(parts) - 1)
    headlines = [p.headline for p in parts]

    # 1./2. Headlines whole, bodies share what the rest leaves.
    fixed = [p.cost(p.headline, "") for p in parts]
    budget = (limit - gaps - sum(f[0] for f in fixed), limit - gaps - sum(f[1] for f in fixed))
    if budget[0] >= 0 and budget[1] >= 0:
        bodies = [
            b or ""
            for b in _share_out(
                [p.body for p in parts], budget, (1, 1), min_word_cut=_MIN_BODY_WORD_CUT
            )
        ]
        message, parsed = _join(parts, headlines, bodies)
        if _fits(message, parsed, limit):
            return message

    # 3. No bodies; headlines share what times and footers leave (the only headline cut).
    bare = [p.cost("", "") for p in parts]
    budget = (limit - gaps - sum(b[0] for b in bare), limit - gaps - sum(b[1] for b in bare))
    overhead = _cost(_SEP)[0] + len("<b></b>"), _cost(_SEP)[1]
    if budget[0] >= 0 and budget[1] >= 0:
        cut = _share_out(headlines, budget, overhead)
        if all(h is not None for h in cut):
            message, parsed = _join(parts, [h or "" for h in cut], [""] * len(parts))
            if _fits(message, parsed, limit):
                return message

    # 4. Pathological: the footers alone are too long. Plain text, shortened, escaped.
    text = _ENTRY_GAP.join(p.text(p.headline, "") for p in parts)
    shortened = _shorten(text, limit, limit)
    return _esc(shortened) if shortened is not None else ""


def render_plain(entries: Sequence[RenderedEntry], tz: ZoneInfo) -> str:
    """The same content without markup or shortening, for logs and the CLI.

    The link is written as ``Source name <https://…>`` since plain text cannot hide a URL.
    """
    parts = [_Parts.of(entry, tz) for entry in entries]
    return _ENTRY_GAP.join(p.text(p.headline, p.body, with_url=True) for p in parts)
