"""The catalogs: same keys and placeholders in every language, escaping of values."""

from __future__ import annotations

import re
import string

import pytest

from bot.commands import COMMANDS
from bot.i18n import CATALOGS, LANGUAGES, Language, language_or, t, t_plain

_TAG = re.compile(r"</?([a-z]+)[^>]*>")
_ALLOWED_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_languages_have_the_same_keys() -> None:
    de, en = (set(CATALOGS[lang]) for lang in LANGUAGES)
    assert de - en == set(), "missing in en"
    assert en - de == set(), "missing in de"


@pytest.mark.parametrize("key", sorted(CATALOGS["de"]))
def test_languages_have_the_same_placeholders(key: str) -> None:
    assert _placeholders(CATALOGS["de"][key]) == _placeholders(CATALOGS["en"][key])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_templates_use_only_telegram_html(lang: Language) -> None:
    for key, template in CATALOGS[lang].items():
        assert {m[1] for m in _TAG.finditer(template)} <= _ALLOWED_TAGS, key
        assert "&" not in template.replace("&amp;", ""), key


def test_every_command_has_a_description_within_telegram_limits() -> None:
    for lang in LANGUAGES:
        for command in COMMANDS:
            description = t_plain(lang, command.description_key)
            assert 3 <= len(description) <= 256
            assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)


def test_values_are_escaped_for_html() -> None:
    text = t("en", "filter.added", kind="Keyword", value='<b>&"x"')
    assert "&lt;b&gt;&amp;&quot;x&quot;" in text
    assert "<b>&" not in text


def test_plain_text_is_not_escaped() -> None:
    assert t_plain("de", "toast.subscribed", name="A & B") == "Abonniert: A & B"


def test_german_is_german() -> None:
    assert "Einträge" in t("de", "latest.empty")
    assert "entries" in t("en", "latest.empty")


def test_unknown_language_falls_back() -> None:
    assert language_or("fr", "de") == "de"
    assert language_or(None, "xx") == "en"
    assert language_or("en", "de") == "en"
