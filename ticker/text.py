"""Text normalisation shared by extraction, filtering and search.

Users type "charkiw", "Charkiw" or "Chárkiw"; tickers write "Charkiw". Folding maps all of
them to one comparable form: NFKD, combining marks dropped, German sharp s expanded,
casefolded, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_SPECIAL = str.maketrans({"ß": "ss", "ẞ": "ss", "’": "'", "‘": "'", "ʼ": "'", "`": "'"})


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` for comparisons, never for display.

    ASCII text (most headlines, keywords, commands) takes a shortcut at a quarter of the cost:
    there NFKD and dropping combining marks change nothing, and of the replacements only the
    backtick applies. Entry keys hash folded headlines, so a test holds it to the full path.
    """
    if text.isascii():
        return collapse_whitespace(text.replace("`", "'").casefold())
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", stripped.casefold()).strip()


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
