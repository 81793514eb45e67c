"""From raw, layer-specific findings to finished :class:`~ticker.model.Entry` values.

One place for the rules every layer must obey: pinned copies dropped, boilerplate and
end-marker text removed, a non-empty headline, a stable key, duplicates merged, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ticker.model import Entry, ParseOptions
from ticker.parse import cleanup, keys
from ticker.parse.dates import resolve
from ticker.parse.raw import Item, RawEntry


def _identity(raw: RawEntry) -> str:
    """What makes two raw entries the same: the publisher id, else headline and body start.

    Only case and spacing are normalised: this runs on every entry of a 1 MB page.
    """
    if raw.entry_id:
        return "id:" + raw.entry_id
    start = cleanup.collapse(" ".join(raw.body)[:400]).casefold()
    return "text:" + cleanup.collapse(raw.headline).casefold() + "\x00" + start


def drop_repeats(items: Sequence[Item]) -> list[Item]:
    """Items with repeated entries removed.

    The first occurrence wins, except when it is the very first entry of the page: an entry
    that also appears further down is then a pinned or lead copy of an older one, and the copy
    in its chronological place is kept instead (its time is the one that fits the list).
    """
    entries = [item for item in items if isinstance(item, RawEntry)]
    identities = {id(raw): _identity(raw) for raw in entries}
    counts: dict[str, int] = {}
    for identity in identities.values():
        counts[identity] = counts.get(identity, 0) + 1
    first = entries[0] if entries else None
    kept: set[str] = set()
    result: list[Item] = []
    for item in items:
        if not isinstance(item, RawEntry):
            result.append(item)
            continue
        identity = identities[id(item)]
        if identity in kept or (item is first and counts[identity] > 1):
            continue
        kept.add(identity)
        result.append(item)
    return result


def finish(
    items: Sequence[Item], options: ParseOptions, fallback_day: date
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Resolve times, clean text, key and dedupe; entries newest first plus warnings."""
    warnings: list[str] = []
    undated = sum(1 for i in items if isinstance(i, RawEntry) and i.when is None and not i.clock)
    if undated:
        warnings.append(f"{undated} entries without a time were skipped")
    entries: list[Entry] = []
    seen: set[str] = set()
    # layers hand over body lines already whitespace-collapsed and stripped
    for raw, published_at in resolve(drop_repeats(items), options.timezone, fallback_day):
        lines = cleanup.cut_at_markers([line for line in raw.body if line], options.end_markers)
        lines = cleanup.drop_boilerplate(lines)
        headline = cleanup.clean_lines([raw.headline])
        head = headline[0] if headline else ""
        for marker in options.end_markers:
            if marker and marker in head:
                head = head[: head.index(marker)].strip()
                lines = []
        if raw.derive_headline and head:
            head, rest = cleanup.split_headline(head)
            lines = cleanup.clean_lines([rest]) + lines
        elif not head and lines:
            head, rest = cleanup.split_headline(lines[0])
            lines = cleanup.clean_lines([rest]) + lines[1:]
        if not head:
            continue
        entry_id = raw.entry_id or keys.id_from_url(raw.url)
        key = entry_id or keys.hash_key(options.source_id, published_at, head)
        if key in seen:
            continue
        seen.add(key)
        url = raw.url or keys.anchor_url(options.page_url, entry_id)
        entries.append(Entry(key, published_at, head, "\n".join(lines), url))
    entries.sort(key=lambda entry: entry.published_at, reverse=True)
    return tuple(entries), tuple(warnings)
