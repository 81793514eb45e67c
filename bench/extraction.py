"""Extraction quality and speed on the hand-labelled evaluation set.

Usage: ``python bench/extraction.py [--errors] [--split NAME] [--data PATH]``. Prints
micro-averaged precision, recall and F1 for regions and speakers, per split and overall, and
throughput in entries per second. Regions are compared by canonical display name; speakers
by key (``Extractor.speaker_key``), so a gold "Zelensky" and an extracted "Wolodymyr
Selenskyj" are the same person.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticker.extract import Extractor

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "extraction_eval.jsonl"
SEED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "liveticker_seed_de.txt"
Row = dict[str, object]


def load(path: Path) -> list[Row]:
    """Rows of the JSONL file; the first line (``_meta``) documents the file itself."""
    rows: list[Row] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if "_meta" not in row:
                rows.append(row)
    return rows


def seed_entries() -> list[tuple[str, str]]:
    """The real seed page split at its "HH:MM Uhr" lines: realistic entry lengths for speed."""
    if not SEED.exists():
        return []
    parts = re.split(r"^\d\d:\d\d Uhr$", SEED.read_text(encoding="utf-8"), flags=re.M)
    entries = []
    for part in parts[1:]:
        headline, _, body = part.strip("\n").partition("\n")
        entries.append((headline, body))
    return entries


def timed(extractor: Extractor, texts: list[tuple[str, str]], rounds: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds for ``rounds`` passes; CPU time is robust to a busy box."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for headline, body in texts:
            extractor.extract(headline, body)
    return time.perf_counter() - wall, time.process_time() - cpu


def report(label: str, texts: list[tuple[str, str]], rounds: int, wall: float, cpu: float) -> None:
    count = rounds * len(texts)
    mean_chars = sum(len(h) + len(b) for h, b in texts) / max(1, len(texts))
    print(
        f"throughput ({label}, mean {mean_chars:.0f} chars, one thread): "
        f"{count / wall:,.0f} entries/s wall-clock, {count / cpu:,.0f} entries per CPU-second"
    )


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def names(row: Row, key: str) -> list[str]:
    value = row[key]
    assert isinstance(value, list)
    return [str(v) for v in value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", help="only rows of this split (dev, holdout, blind2)")
    parser.add_argument("--errors", action="store_true", help="print every mismatch")
    parser.add_argument("--rounds", type=int, default=20, help="passes for the speed figure")
    args = parser.parse_args()
    rows = [r for r in load(args.data) if args.split in (None, r.get("split"))]
    started = time.perf_counter()
    extractor = Extractor.load()
    build_ms = (time.perf_counter() - started) * 1000
    # counts[split][kind] = [tp, fp, fn]
    counts: dict[str, dict[str, list[int]]] = defaultdict(
        lambda: {"regions": [0, 0, 0], "speakers": [0, 0, 0]}
    )
    for row in rows:
        result = extractor.extract(str(row["headline"]), str(row["body"]))
        gold_speakers = {extractor.speaker_key(n) for n in names(row, "speakers")}
        pairs = (
            ("regions", set(names(row, "regions")), set(result.regions)),
            ("speakers", gold_speakers, {s.key for s in result.speakers}),
        )
        for kind, gold, got in pairs:
            for split in (str(row.get("split", "all")), "ALL"):
                c = counts[split][kind]
                c[0] += len(gold & got)
                c[1] += len(got - gold)
                c[2] += len(gold - got)
            if args.errors and gold != got:
                print(f"[{kind}] {row['headline']}")
                print(f"    missing {sorted(gold - got)}  extra {sorted(got - gold)}")
    texts = [(str(r["headline"]), str(r["body"])) for r in rows]
    wall, cpu = timed(extractor, texts, args.rounds)
    sizes: dict[str, int] = defaultdict(int)
    for row in rows:
        sizes[str(row.get("split", "all"))] += 1
    sizes["ALL"] = len(rows)
    print(f"entries: {len(rows)}  (automaton build {build_ms:.0f} ms)")
    order = ["dev", "holdout", "blind2"]
    for split, kinds in sorted(
        counts.items(),
        key=lambda kv: (
            kv[0] == "ALL",
            kv[0] not in order,
            order.index(kv[0]) if kv[0] in order else 0,
        ),
    ):
        for kind, (tp, fp, fn) in kinds.items():
            p, r, f = prf(tp, fp, fn)
            print(
                f"{split:8s} n={sizes[split]:3d} {kind:9s} P={p:.3f} R={r:.3f} F1={f:.3f}"
                f"  (tp={tp} fp={fp} fn={fn})"
            )
    report("eval set", texts, args.rounds, wall, cpu)
    seed = seed_entries()
    if seed:
        rounds = args.rounds * 20
        wall, cpu = timed(extractor, seed, rounds)
        report("seed page", seed, rounds, wall, cpu)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
