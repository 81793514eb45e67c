"""The gazetteer: which places exist, under which canonical display name, and how they are written.

Display names follow the German press, because the main tickers are German: "Charkiw" (not
"Charkow" or "Kharkiv"), "Kiew", "Pokrowsk", "Belgorod". An oblast and its eponymous capital
are one place ("Charkiw" stands for city and oblast): tickers rarely keep them apart and a
user who filters on "Charkiw" wants both. The data ships as ``data/gazetteer.json`` so that
linguists and operators can extend it without touching code; operators add places in config
(see :func:`place_from_config`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from ticker.text import fold

PlaceKind = Literal["country", "region", "city"]
PLACE_KINDS: tuple[PlaceKind, ...] = ("country", "region", "city")

# Genitive "-s" is not added after sibilants ("des Gebiets Kursk", never "Kursks").
_NO_GENITIVE_ENDINGS = ("s", "x", "z", "ß", "sch", "tsch")


@dataclass(frozen=True, slots=True)
class Place:
    """A place users can filter on. ``name`` is the canonical display name."""

    name: str
    kind: PlaceKind
    parent: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """All known places plus the capitals whose bare name may stand for their country.

    ``capitals`` maps a capital's canonical name to its country: "Kiew fordert …" is about
    Ukraine's government, not about the city (see ``places.py`` for how that is decided).
    """

    places: tuple[Place, ...]
    capitals: Mapping[str, str]

    def by_name(self) -> dict[str, Place]:
        return {place.name: place for place in self.places}


def place_from_config(mapping: Mapping[str, object]) -> Place:
    """Validate one operator entry ``{name, kind, parent, aliases}``.

    Raises ``ValueError`` with a message naming the key, so config loading can report
    ``extract.places[3].kind: …`` instead of a traceback.
    """
    if not isinstance(mapping, Mapping):
        raise ValueError("place must be a table with name, kind, parent, aliases")
    unknown = set(mapping) - {"name", "kind", "parent", "aliases"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    name = mapping.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: must be a non-empty string")
    kind = mapping.get("kind", "region")
    if kind not in PLACE_KINDS:
        raise ValueError(f"kind: must be one of {', '.join(PLACE_KINDS)}, not {kind!r}")
    parent = mapping.get("parent")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise ValueError("parent: must be a non-empty string or absent")
    aliases = mapping.get("aliases", ())
    if isinstance(aliases, str) or not isinstance(aliases, Sequence):
        raise ValueError("aliases: must be a list of strings")
    clean: list[str] = []
    for index, alias in enumerate(aliases):
        if not isinstance(alias, str) or not alias.strip():
            raise ValueError(f"aliases[{index}]: must be a non-empty string")
        clean.append(alias.strip())
    return Place(
        name=name.strip(),
        kind=kind,
        parent=parent.strip() if isinstance(parent, str) else None,
        aliases=tuple(clean),
    )


@lru_cache(maxsize=1)
def load_default() -> Gazetteer:
    """The shipped gazetteer, parsed once per process."""
    raw = resources.files("ticker.extract").joinpath("data/gazetteer.json").read_text("utf-8")
    data = json.loads(raw)
    places = tuple(place_from_config(item) for item in data["places"])
    capitals = {str(k): str(v) for k, v in data.get("capitals", {}).items()}
    return Gazetteer(places=places, capitals=capitals)


def merge(base: Gazetteer, extra: Iterable[Place]) -> Gazetteer:
    """``base`` extended by operator places; an operator place replaces one of the same name.

    Replacing (not merging aliases) keeps the operator in control: they can also fix a
    shipped entry by restating it.
    """
    extra_list = list(extra)
    if not extra_list:
        return base
    replaced = {fold(place.name) for place in extra_list}
    kept = [place for place in base.places if fold(place.name) not in replaced]
    return Gazetteer(places=(*kept, *extra_list), capitals=base.capitals)


def surface_forms(written: str) -> set[str]:
    """Folded forms under which ``written`` appears in running text, inflection included.

    German inflects names only in the genitive singular ("Russlands", "Charkows", "des
    Irans"); English adds "'s", which the matcher's word boundary already accepts.
    """
    base = fold(written)
    forms = {base}
    if len(base) >= 4 and base[-1].isalpha() and not base.endswith(_NO_GENITIVE_ENDINGS):
        forms.add(base + "s")
    return forms
