"""Synthetic live-ticker entries for `tickerbot demo`: German, with places and speakers the
extractor knows, so filters (/region, /speaker, /keyword) have something to bite on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SampleEntry:
    headline: str
    body: str
    correction: str | None = None


SAMPLES: tuple[SampleEntry, ...] = (
    SampleEntry(
        "Gladkow: Drohnenangriff auf Belgorod",
        "Nach Angaben von Wjatscheslaw Gladkow, dem Gouverneur des Gebiets Belgorod, wurden in "
        "der Nacht zwölf Drohnen abgefangen. Verletzte gebe es nicht.",
        "Nach Angaben von Wjatscheslaw Gladkow, dem Gouverneur des Gebiets Belgorod, wurden in "
        "der Nacht 14 Drohnen abgefangen. Zwei Menschen wurden leicht verletzt.",
    ),
    SampleEntry(
        "Explosionen in Charkiw",
        "In Charkiw sind am Morgen mehrere Explosionen zu hören gewesen. Der Bürgermeister "
        "Igor Terechow sprach von einem Angriff auf die Energieinfrastruktur.",
    ),
    SampleEntry(
        "Sacharowa kritisiert EU-Sanktionen",
        "Die Sprecherin des russischen Außenministeriums, Maria Sacharowa, nannte das neue "
        "Sanktionspaket der EU einen Schritt in die Sackgasse.",
    ),
    SampleEntry(
        "Selenskyj bittet um mehr Flugabwehr",
        "Der ukrainische Präsident Wolodymyr Selenskyj hat die Partner erneut um zusätzliche "
        "Flugabwehrsysteme gebeten. Die Angriffe auf Kiew hätten zugenommen, sagte er.",
    ),
    SampleEntry(
        "Stromausfälle im Gebiet Saporischschja",
        "Nach nächtlichen Angriffen ist im Gebiet Saporischschja in mehreren Orten der Strom "
        "ausgefallen. Reparaturtrupps sind im Einsatz.",
        "Nach nächtlichen Angriffen ist im Gebiet Saporischschja in 23 Orten der Strom "
        "ausgefallen. Reparaturtrupps sind im Einsatz.",
    ),
    SampleEntry(
        "Peskow: Keine Pläne für neue Verhandlungsrunde",
        "Kremlsprecher Dmitri Peskow erklärte, es gebe derzeit keine konkreten Pläne für eine "
        "neue Verhandlungsrunde mit der Ukraine.",
    ),
    SampleEntry(
        "Drohnenabwehr über Moskau",
        "Über dem Gebiet Moskau sind nach Angaben von Bürgermeister Sergei Sobjanin mehrere "
        "Drohnen abgeschossen worden. Der Flugverkehr wurde kurzzeitig eingeschränkt.",
    ),
    SampleEntry(
        "Polen verstärkt Grenzschutz",
        "Polen schickt weitere Soldaten an die Grenze zu Belarus. Verteidigungsminister "
        "Władysław Kosiniak-Kamysz sprach von einer notwendigen Vorsichtsmaßnahme.",
    ),
    SampleEntry(
        "Evakuierung in Pokrowsk fortgesetzt",
        "Aus Pokrowsk sind am Vormittag weitere Familien in Sicherheit gebracht worden. Die "
        "Lage in der Stadt gilt als angespannt.",
    ),
    SampleEntry(
        "Baerbock reist nach Kiew",
        "Außenministerin Annalena Baerbock ist zu einem unangekündigten Besuch in Kiew "
        "eingetroffen. Sie sagte weitere Unterstützung beim Wiederaufbau zu.",
    ),
    SampleEntry(
        "Luftalarm in Odessa",
        "In Odessa und der umliegenden Region ist Luftalarm ausgelöst worden. Die Behörden "
        "riefen die Bewohner auf, Schutzräume aufzusuchen.",
    ),
    SampleEntry(
        "Israel meldet Raketenbeschuss aus dem Libanon",
        "Die israelische Armee hat nach eigenen Angaben mehrere Raketen aus dem Libanon "
        "abgefangen. Verletzt wurde niemand.",
    ),
)


def sample_entries() -> Iterator[SampleEntry]:
    """Endless: the demo ticker keeps gaining entries for as long as it runs."""
    for round_number in itertools.count(1):
        for sample in SAMPLES:
            if round_number == 1:
                yield sample
            else:
                yield SampleEntry(
                    f"{sample.headline} ({round_number}. Meldung)",
                    sample.body,
                    sample.correction,
                )
