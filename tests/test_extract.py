"""Region and speaker extraction: the seed page, the rules behind it, and the public API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticker.extract import Extraction, Extractor, Place, Speaker, place_from_config
from ticker.model import Entry

SEED = Path(__file__).parent / "fixtures" / "liveticker_seed_de.txt"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load()


def seed_entries() -> dict[str, tuple[str, str]]:
    """The seed page split at its ``HH:MM Uhr`` lines: time → (headline, body)."""
    parts = re.split(r"^(\d\d:\d\d) Uhr$", SEED.read_text(encoding="utf-8"), flags=re.M)
    entries: dict[str, tuple[str, str]] = {}
    for i in range(1, len(parts), 2):
        headline, _, body = parts[i + 1].strip("\n").partition("\n")
        entries[parts[i]] = (headline, body)
    return entries


SEED_EXPECTED = {
    "18:13": ({"Pokrowsk"}, ["Maria Sacharowa"]),
    "17:37": (set(), ["Tatjana Moskalkowa"]),
    "17:05": ({"Rostow"}, ["Juri Sljusar"]),
    "16:32": ({"Italien"}, ["Antonio Tajani"]),
    "16:04": ({"Belgorod"}, ["Wjatscheslaw Gladkow"]),
    "14:55": ({"Charkiw"}, ["Sergei Lebedew"]),
    "14:26": ({"Brjansk"}, ["Alexander Bogomas"]),
}


@pytest.mark.parametrize("time", sorted(SEED_EXPECTED))
def test_seed_entries(extractor: Extractor, time: str) -> None:
    headline, body = seed_entries()[time]
    result = extractor.extract(headline, body)
    regions, speakers = SEED_EXPECTED[time]
    assert regions <= set(result.regions)
    assert [s.name for s in result.speakers] == speakers


def test_seed_region_sets_stay_tight(extractor: Extractor) -> None:
    entries = seed_entries()
    assert set(extractor.extract(*entries["16:04"]).regions) == {"Belgorod"}
    assert set(extractor.extract(*entries["14:26"]).regions) == {"Brjansk"}
    # "Terror Kiews" is Kiev's government, so the country; never the city.
    assert "Kiew" not in extractor.extract(*entries["18:13"]).regions


def test_seed_non_speakers(extractor: Extractor) -> None:
    entries = seed_entries()
    rostow = extractor.extract(*entries["17:05"])
    assert all("Suprunowski" not in s.name for s in rostow.speakers)
    azertag = extractor.extract(*entries["15:27"])
    assert azertag.speakers == ()  # a news agency and a man who ordered something
    italien = extractor.extract(*entries["16:32"])
    assert "Italien" not in {s.name for s in italien.speakers}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("charkiw", "Charkiw"),
        ("Kharkiv", "Charkiw"),
        ("Gebiet Charkow", "Charkiw"),
        ("CHÁRKIW", "Charkiw"),
        ("Krasnoarmeisk", "Pokrowsk"),
        ("Kyiv", "Kiew"),
        ("Kyjiw", "Kiew"),
        ("Belgorod Oblast", "Belgorod"),
        ("Gebiet Belgorod", "Belgorod"),
        ("des Gebiets Belgorod", "Belgorod"),
        ("Zaporizhzhia", "Saporischschja"),
        ("Gaza", "Gazastreifen"),
        ("West Bank", "Westjordanland"),
        ("Lemberg", "Lwiw"),
        ("Weißrussland", "Belarus"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_resolve_region(extractor: Extractor, text: str, expected: str | None) -> None:
    assert extractor.resolve_region(text) == expected


@pytest.mark.parametrize(
    "names",
    [
        ("Maria Sacharowa", "Sacharowa", "sacharowa", "Maria Zakharova"),
        ("Selenskij", "Selenskyj", "Zelensky", "Selensky", "Wolodymyr Selenskyj", "Zelenskyy"),
        ("Peskow", "Dmitry Peskov"),
        ("Lawrow", "Sergei Lavrov"),
        ("Ursula von der Leyen", "von der Leyen"),
        ("Gladkov", "Wjatscheslaw Gladkow"),
    ],
)
def test_speaker_key_variants(extractor: Extractor, names: tuple[str, ...]) -> None:
    assert len({extractor.speaker_key(n) for n in names}) == 1


def test_speaker_keys_differ(extractor: Extractor) -> None:
    assert extractor.speaker_key("Putin") != extractor.speaker_key("Peskow")


def test_inflections_and_adjectives(extractor: Extractor) -> None:
    result = extractor.extract(
        "Angriffe in der Ukraine",
        "Russlands Armee meldet Erfolge. Italiens Regierung schweigt. Die ukrainischen "
        "Attacken gingen weiter, der Ukraine-Krieg auch. Das Kiewer Regime, so Moskau.",
    )
    assert set(result.regions) == {"Ukraine", "Russland", "Italien"}


def test_capital_as_government_or_as_place(extractor: Extractor) -> None:
    government = extractor.extract("Kiew fordert mehr Waffen", "Moskau und Kiew streiten.")
    assert set(government.regions) == {"Ukraine", "Russland"}
    place = extractor.extract("Explosionen in Kiew", "Drohnen über Kiew und Moskau.")
    assert set(place.regions) == {"Kiew", "Moskau"}


def test_region_patterns_find_unknown_regions(extractor: Extractor) -> None:
    result = extractor.extract("Gebiet Kurgan: Raffinerie getroffen", "")
    assert result.regions == ("Kurgan",)
    english = extractor.extract("Drone hits plant", "A drone hit a plant in the Kurgan region.")
    assert english.regions == ("Kurgan",)


def test_place_prefix_is_region_not_speaker(extractor: Extractor) -> None:
    result = extractor.extract("Gebiet Belgorod: Gouverneur meldet Schäden", "Es brennt.")
    assert result == Extraction(regions=("Belgorod",), speakers=())


def test_headline_prefix_speaker(extractor: Extractor) -> None:
    result = extractor.extract(
        "Sacharowa: Westen trägt Verantwortung",
        "Der Westen trage die Verantwortung, hieß es aus Moskau.",
    )
    assert result.speakers == (Speaker("sacharowa", "Sacharowa"),)


def test_media_and_mentions_are_not_speakers(extractor: Extractor) -> None:
    result = extractor.extract(
        "NYT: Trump-Regierung prüft Optionen",
        "Dies berichtet die New York Times. Die Europäer wollen Präsident Donald Trump "
        "zwingen, einzulenken. Laut RIA Nowosti gab es keine Gespräche.",
    )
    assert result.speakers == ()
    assert "New York" not in result.regions


def test_quotes_do_not_make_speakers(extractor: Extractor) -> None:
    result = extractor.extract(
        "Scholz warnt",
        '"Putin hat gesagt, er wolle verhandeln", erklärte Bundeskanzler Olaf Scholz.',
    )
    assert [s.name for s in result.speakers] == ["Olaf Scholz"]


@pytest.mark.parametrize(
    ("body", "speaker"),
    [
        ("Kremlin spokesman Dmitry Peskov told reporters that talks were possible.", "peskow"),
        ("Two people were hurt, governor Vyacheslav Gladkov said.", "gladkow"),
        ("No one was hurt, according to Kyiv Mayor Vitali Klitschko.", "klitschko"),
        ('"We are ready", said Ukrainian Foreign Minister Andrii Sybiha.', "sybiha"),
        ("Bürgermeister Sergei Sobjanin zufolge wurden zwölf Drohnen abgeschossen.", "sobjanin"),
        ("Nach Angaben von Gouverneur Iwan Fedorow gab es zwei Tote.", "fedorow"),
        ("Die Lage sei stabil, so Regierungschef Denys Schmyhal.", "schmyhal"),
    ],
)
def test_attribution_cues(extractor: Extractor, body: str, speaker: str) -> None:
    assert [s.key for s in extractor.extract("Lage", body).speakers] == [speaker]


def test_fullest_name_wins(extractor: Extractor) -> None:
    result = extractor.extract(
        "Tajani: Keine Truppen", "Das sagte Außenminister Antonio Tajani. Tajani betonte das."
    )
    assert result.speakers == (Speaker("tajani", "Antonio Tajani"),)


def test_annotate_fills_entry(extractor: Extractor) -> None:
    entry = Entry(
        key="k",
        published_at=datetime(2026, 1, 21, 17, 13, tzinfo=UTC),
        headline="Sacharowa: Lage in Krasnoarmeisk belegt Terror",
        body="Dies erklärte die Sprecherin des Außenministeriums, Maria Sacharowa.",
        url=None,
    )
    annotated = extractor.annotate(entry)
    assert annotated.regions == ("Pokrowsk",)
    assert annotated.speakers == ("Maria Sacharowa",)
    assert annotated.speaker_keys == ("sacharowa",)


def test_default_extractor_is_cached() -> None:
    assert Extractor.load() is Extractor.load()


def test_operator_places_extend_gazetteer() -> None:
    place = place_from_config(
        {"name": "Oblast Nowhere", "kind": "region", "parent": "Ukraine", "aliases": ["Nirgendwo"]}
    )
    assert place == Place("Oblast Nowhere", "region", "Ukraine", ("Nirgendwo",))
    custom = Extractor.load([place])
    assert custom is not Extractor.load()
    assert custom.extract("Angriff auf Nirgendwo", "").regions == ("Oblast Nowhere",)
    assert custom.resolve_region("nirgendwo") == "Oblast Nowhere"
    assert custom.resolve_region("Charkow") == "Charkiw"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"kind": "city"}, "name"),
        ({"name": "X", "kind": "planet"}, "kind"),
        ({"name": "X", "aliases": "Y"}, "aliases"),
        ({"name": "X", "aliases": ["Y", 3]}, "aliases[1]"),
        ({"name": "X", "parent": 5}, "parent"),
        ({"name": "X", "colour": "red"}, "colour"),
    ],
)
def test_place_from_config_rejects(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        place_from_config(mapping)


def test_german_verbs_after_places_are_not_modifiers(extractor: Extractor) -> None:
    result = extractor.extract("Lage", "Russland plant eine Offensive. Die Ukraine war bereit.")
    assert set(result.regions) == {"Russland", "Ukraine"}
    english = extractor.extract("Envoy", "U.S. envoy Steve Witkoff arrived in Moscow.")
    assert english.regions == ("Moskau",)


def test_coordinated_speakers(extractor: Extractor) -> None:
    result = extractor.extract(
        "Gipfel", "Sergei Lawrow und Marco Rubio erklärten nach dem Treffen, man sei sich näher."
    )
    assert [s.key for s in result.speakers] == ["lawrow", "rubio"]
    met = extractor.extract("Gipfel", "Lawrow traf Rubio und Witkoff. Das sagte Peskow.")
    assert [s.key for s in met.speakers] == ["peskow"]
