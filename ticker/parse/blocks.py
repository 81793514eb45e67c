"""HTML → block lines: one line per paragraph, heading, list item or ``<br>``.

Flattening a page without separators glues ``…Israel.`` to ``06.20 Uhr:``; splitting at every
text node splits a headline at its ``<a>``. So a record separator is inserted in front of every
block-level tag in the raw markup (one C-speed regex pass), the tree is parsed once by lexbor,
the text is read with that separator, and inline markup stays on its line.

Entry ids (``id="block-<hex>"``, ``id="751105"``, ``#live-…``) become marker lines starting
with ``\\x01`` so the time-header parser can key entries on them.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ticker.parse import cleanup, keys

SEP = "\x1e"
ID_MARK = "\x01"

_BLOCK_TAGS = (
    r"/?(?:p|div|li|ul|ol|h[1-6]|br|hr|section|article|header|footer|blockquote|figure|"
    r"figcaption|dt|dd|dl|pre|address|main|details|summary|tr|table)[\s/>]"
)
_BLOCK = re.compile(f"<(?={_BLOCK_TAGS})")
"""Case-sensitive on purpose: two and a half times faster than IGNORECASE on a 1 MB page."""
_BLOCK_ANY_CASE = re.compile(f"<(?={_BLOCK_TAGS})", re.IGNORECASE)
_UPPER_TAG = re.compile(r"</?(?:P|DIV|BR|LI|H[1-6]|UL|TR|SECTION|ARTICLE)[\s/>]")
_ID_ATTR = re.compile(r"""id\s*=\s*["']?([\w-]{4,80})["'\s>]""")
"""``id=``, ``data-id=``, ``data-post-id=``…: a literal start keeps the scan fast."""
_BODY = re.compile(r"<body\b", re.IGNORECASE)
_DROP_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe",
    "svg", "button", "select", "textarea", "head",
]  # fmt: skip
_DROP_SELECTOR = ", ".join(_DROP_TAGS)
"""All dropped tags in one selector list: lexbor walks the tree once, not once per tag."""
_BOILERPLATE_CLASSES = (
    "[class*='pinned'], [class*='sticky'], [class*='key-event'], [class*='keyevent'], "
    "[class*='highlights'], [class*='summary-box'], [class*='advert'], [class*='ad-slot'], "
    "[class*='adslot'], [class*='sponsor'], [class*='teaser'], [class*='related'], "
    "[class*='newsletter'], [class*='donat'], [class*='paywall'], [class*='promo'], "
    "[class*='share'], [class*='social'], [class~='ad'], [class~='ads'], [class~='summary']"
)
_BOILERPLATE = f"[class]:is({_BOILERPLATE_CLASSES}), [data-pinned='true'], [id*='pinned']"
"""Containers that repeat entries (pinned, key events) or are not news (ads, teasers, asks).

The leading ``[class]`` lets lexbor skip the 21 class tests on every element without a class:
a third faster than listing them as 21 selectors of their own.
"""

_MAX_BOILERPLATE_SHARE = 0.4
"""A "boilerplate" match holding this much of the page is a wrapper with an unlucky class."""


def mark_ids(markup: str) -> str:
    """Insert an id marker line before each tag carrying an entry-like id."""
    parts: list[str] = []
    last = 0
    for found in _ID_ATTR.finditer(markup):
        value = found[1]
        before = markup[found.start() - 1 : found.start()]
        if not (before.isspace() or before == "-") or not keys.looks_like_entry_id(value):
            continue
        start = markup.rfind("<", last, found.start())
        if start < 0:
            continue
        parts.append(markup[last:start])
        parts.append(f"{SEP}{ID_MARK}{value}{SEP}")
        last = start
    parts.append(markup[last:])
    return "".join(parts)


def _drop_tags(tree: LexborHTMLParser) -> None:
    """``tree.strip_tags(_DROP_TAGS, recursive=True)`` at a third of the cost (one tree walk).

    Decomposing only unlinks nodes, so unlinking a match inside one already removed (a button
    in a form) again is harmless, and the resulting tree is the same.
    """
    for node in tree.css(_DROP_SELECTOR):
        node.decompose()


def _remove_boilerplate(root: LexborNode) -> None:
    """Decompose boilerplate containers unless one holds too much of the page to be one.

    Nested matches are judged on their own too: one inside a container that goes goes along
    anyway, so the tree ends up as if only outermost matches were judged, without walking up
    from every match to find out which those are.
    """
    matches = root.css(_BOILERPLATE)
    if not matches:
        return  # the page's text length is only needed to judge a match: skip a full walk
    limit = len(root.text(deep=True, separator="\n")) * _MAX_BOILERPLATE_SHARE
    for node in [node for node in matches if len(node.text(deep=True, separator="\n")) <= limit]:
        node.decompose()


def html_to_lines(markup: str) -> list[str]:
    """Block lines of the page's main content (``<main>`` if present, else ``<body>``)."""
    body_at = _BODY.search(markup)
    head, rest = (markup[: body_at.start()], markup[body_at.start() :]) if body_at else ("", markup)
    block = _BLOCK_ANY_CASE if _UPPER_TAG.search(rest) else _BLOCK
    tree = LexborHTMLParser(head + block.sub(SEP + "<", mark_ids(rest)))
    _drop_tags(tree)
    root = tree.css_first("main") or tree.body
    if root is None:
        return []
    _remove_boilerplate(root)
    # separator="" is safe here: every block boundary already carries SEP.
    text = root.text(deep=True, separator="", strip=False)
    return split_block_text(text)


def split_block_text(text: str) -> list[str]:
    """Separator-delimited text → whitespace-collapsed, non-empty lines."""
    return cleanup.collapsed_parts(text, SEP)


_TIME_ATTR = re.compile(r"""<time\b[^>]{0,300}?\bdatetime\s*=\s*["']?([^"'\s>]{8,40})""")


def time_attributes(markup: str) -> list[str]:
    """``<time datetime>`` values in page order: per-entry machine times beat bare clocks."""
    return _TIME_ATTR.findall(markup)


_META_KEYS = (
    "article:modified_time", "dateModified", "last-modified", "og:updated_time",
    "article:published_time", "datePublished",
)  # fmt: skip
_META_VALUE = re.compile(r"""["']?\s*(?:content\s*=\s*|:\s*)["']([^"'<>]{8,40})["']""")
_META_SCAN = 100_000


def meta_times(markup: str) -> list[str]:
    """Page-level time strings, modified before published: a last resort for the page's date.

    Plain ``str.find`` per key over the page start: a case-insensitive alternation regex over
    the whole head cost more than the rest of the parse.
    """
    head = markup[:_META_SCAN]
    found: list[str] = []
    for key in _META_KEYS:
        position = head.find(key)
        while position >= 0:
            value = _META_VALUE.match(head, position + len(key))
            if value:
                found.append(value[1])
                break
            position = head.find(key, position + 1)
    return found
