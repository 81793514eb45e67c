"""Argument parsing and the per-user throttle, without Telegram."""

from __future__ import annotations

import pytest

from handlers.parsing import format_minute, is_off, parse_count, parse_minute, parse_window
from handlers.throttle import Throttle


@pytest.mark.parametrize(
    ("text", "minute"),
    [("00:00", 0), ("7:05", 425), ("23:59", 1439), ("24:00", None), ("12:60", None), ("x", None)],
)
def test_parse_minute(text: str, minute: int | None) -> None:
    assert parse_minute(text) == minute


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("22:00-07:00", (1320, 420)),  # across midnight
        ("08:00 - 09:30", (480, 570)),
        ("08:00–09:30", (480, 570)),
        ("08:00-08:00", None),  # empty window
        ("25:00-07:00", None),
        ("22:00", None),
        ("off", None),
    ],
)
def test_parse_window(text: str, window: tuple[int, int] | None) -> None:
    assert parse_window(text) == window


def test_format_minute() -> None:
    assert format_minute(425) == "07:05"


@pytest.mark.parametrize(
    ("args", "count"),
    [
        ([], 5),
        (["1"], 1),
        (["20"], 20),
        (["21"], None),
        (["0"], None),
        (["x"], None),
        (["-3"], None),
        (["²"], None),
        (["1", "2"], None),
    ],
)
def test_parse_count(args: list[str], count: int | None) -> None:
    assert parse_count(args, default=5, maximum=20) == count


def test_is_off() -> None:
    assert is_off(["off"]) and is_off(["OFF"]) and is_off(["aus"])
    assert not is_off([]) and not is_off(["off", "now"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_throttle_allows_a_burst_then_warns_once_per_period() -> None:
    clock = FakeClock()
    throttle = Throttle(burst=3, per_minute=60, clock=clock)
    results = [throttle.take(1) for _ in range(10)]
    assert [allowed for allowed, _ in results] == [True] * 3 + [False] * 7
    assert [warn for _, warn in results].count(True) == 1
    assert throttle.take(2) == (True, False)  # another user is not slowed down
    clock.now += 1.0  # one token back
    assert throttle.take(1) == (True, False)
    assert throttle.take(1) == (False, True)  # a new throttled period: one more warning
