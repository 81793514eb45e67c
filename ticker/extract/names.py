"""Person-name knowledge: first names, role nouns, surname variants and the speaker key.

A speaker filter must survive transliteration: German tickers write "Selenskij", Ukrainian
media "Selenskyj", English ones "Zelensky". The key is the folded surname mapped through a
variant table (irregular spellings) and a few transliteration rules (regular ones: -ov/-ow,
kh/ch, zh/sch), so that "Peskov" and "Peskow" meet without listing every Russian surname.
Word lists live in ``data/names.json`` so they can grow without code changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ticker.text import fold

_PARTICLES = frozenset({"von", "van", "der", "den", "de", "da", "di", "du", "dos", "la", "le"})
_ENDING_RULES = (
    (re.compile(r"(yj|yi|iy|yy|ij)$"), "ij"),
    (re.compile(r"ov$"), "ow"),
    (re.compile(r"ev$"), "ew"),
    (re.compile(r"ova$"), "owa"),
    (re.compile(r"eva$"), "ewa"),
)
_INNER_RULES = (("kh", "ch"), ("zh", "sch"), ("sh", "sch"), ("ts", "z"), ("v", "w"))


@dataclass(frozen=True, slots=True)
class NameData:
    """The folded word lists from ``data/names.json``."""

    first_names: frozenset[str]
    variants: dict[str, str]
    roles: tuple[str, ...]
    not_names: frozenset[str]
    organisations: tuple[str, ...]

    def is_role(self, folded_token: str) -> bool:
        """Role nouns, compounds included: "Außenminister", "Kremlsprecher", "US-Präsident"."""
        return folded_token.endswith(self.roles)


@lru_cache(maxsize=1)
def name_data() -> NameData:
    raw = resources.files("ticker.extract").joinpath("data/names.json").read_text("utf-8")
    data = json.loads(raw)
    variants: dict[str, str] = {}
    for group in data["surname_variants"]:
        key = fold(group[0])
        for variant in group:
            variants.setdefault(fold(variant), key)
    return NameData(
        first_names=frozenset(fold(n) for n in data["first_names"]),
        variants=variants,
        roles=tuple(sorted({fold(r) for r in data["roles"]}, key=len, reverse=True)),
        not_names=frozenset(fold(n) for n in data["not_names"]),
        organisations=tuple(data["organisations"]),
    )


@lru_cache(maxsize=65536)
def surname_key(surname: str) -> str:
    """Key of one surname token: variant table first, then transliteration rules."""
    data = name_data()
    folded = fold(surname)
    known = data.variants.get(folded)
    if known is not None:
        return known
    normalised = folded
    if normalised.startswith("y"):
        normalised = "j" + normalised[1:]
    for old, new in _INNER_RULES:
        normalised = normalised.replace(old, new)
    for pattern, replacement in _ENDING_RULES:
        normalised = pattern.sub(replacement, normalised)
    return data.variants.get(normalised, normalised)


def speaker_key(name: str) -> str:
    """Key of a full or partial name: its surname's key ("Maria Sacharowa" → "sacharowa").

    The surname is the last word that is not a name particle, so "Ursula von der Leyen" and
    "von der Leyen" both give "leyen".
    """
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    if not words:
        return ""
    for word in reversed(words):
        if fold(word) not in _PARTICLES:
            return surname_key(word)
    return surname_key(words[-1])
