"""Every word the bot says, one catalog per language (de, en).

Handlers never hold text: they name a key and pass values. Templates are Telegram HTML
(parse mode HTML), so values that come from users or storage must be escaped before they are
inserted — :func:`t` does that; :func:`t_plain` is for places that are not parsed as HTML
(button labels, callback toasts, the command menu). ``tests/test_i18n.py`` checks that both
catalogs have the same keys and the same placeholders, so a missing translation fails CI
instead of surfacing as a KeyError in a chat.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Final, Literal, TypeGuard

Language = Literal["de", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("de", "en")
FALLBACK: Final[Language] = "en"

DE: Final[Mapping[str, str]] = {
    # --- the command menu (plain text, shown by Telegram) ------------------------------
    "cmd.start": "Starten und Standardquellen abonnieren",
    "cmd.help": "Alle Befehle",
    "cmd.stop": "Alle Abos beenden (Filter bleiben)",
    "cmd.sources": "Quellen anzeigen und umschalten",
    "cmd.subscribe": "Eine Quelle abonnieren: /subscribe ID",
    "cmd.unsubscribe": "Eine Quelle abbestellen: /unsubscribe ID",
    "cmd.latest": "Die letzten Einträge: /latest [N]",
    "cmd.pause": "Pushes anhalten",
    "cmd.resume": "Pushes fortsetzen",
    "cmd.quiet": "Ruhezeit: /quiet 22:00-07:00 oder off",
    "cmd.digest": "Tägliche Zusammenfassung: /digest 20:00 oder off",
    "cmd.lang": "Sprache: /lang de oder en",
    "cmd.settings": "Alle Einstellungen dieses Chats",
    "cmd.region": "Regionsfilter: /region NAME",
    "cmd.speaker": "Sprecherfilter: /speaker NAME",
    "cmd.keyword": "Stichwortfilter: /keyword WORT",
    "cmd.exclude": "Einträge mit WORT nie pushen",
    "cmd.filters": "Filter anzeigen und entfernen",
    "cmd.clear": "Alle Filter entfernen",
    "cmd.stats": "Kennzahlen (nur Betreiber)",
    "cmd.poll": "Alle Quellen jetzt abrufen (nur Betreiber)",
    # --- start, help, stop ----------------------------------------------------------------
    "start.greeting": (
        "Hallo! Ich schicke dir neue Einträge aus Livetickern, sobald sie erscheinen."
    ),
    "start.subscribed": "Abonniert: {sources}.",
    "start.no_sources": "Noch keine Quelle abonniert – /sources zeigt, was es gibt.",
    "start.group_readonly": "Quellen abonnieren können in dieser Gruppe nur Admins.",
    "help.header": "<b>Befehle</b>",
    "help.line": "/{name} – {description}",
    "help.operators": "<b>Für Betreiber</b>",
    "unknown.command": "Diesen Befehl kenne ich nicht. /help zeigt alle Befehle.",
    "stop.done": (
        "Abbestellt: keine Pushes mehr. Filter und Einstellungen bleiben erhalten; "
        "/start abonniert wieder."
    ),
    "stop.nothing": "Hier war nichts abonniert. Filter und Einstellungen bleiben erhalten.",
    # --- sources and subscriptions -----------------------------------------------------
    "sources.header": "<b>Quellen</b> (✅ abonniert) – tippe zum Umschalten:",
    "sources.line": "{mark} {name} (<code>{id}</code>)",
    "sources.none": "Es sind keine Quellen eingerichtet.",
    "subscribe.usage": "So geht's: /subscribe ID – gültige IDs: {ids}",
    "subscribe.done": "Abonniert: {sources}.",
    "subscribe.already": "Schon abonniert: {sources}.",
    "subscribe.choose": "Welche Quelle möchtest du abonnieren?",
    "subscribe.all": "Du hast schon alle Quellen abonniert.",
    "unsubscribe.usage": "So geht's: /unsubscribe ID – gültige IDs: {ids}",
    "unsubscribe.done": "Abbestellt: {sources}.",
    "unsubscribe.not_subscribed": "Nicht abonniert: {sources}.",
    "unsubscribe.choose": "Welche Quelle möchtest du abbestellen?",
    "unsubscribe.nothing": "Hier ist keine Quelle abonniert.",
    "toast.subscribed": "Abonniert: {name}",
    "toast.unsubscribed": "Abbestellt: {name}",
    "toast.source_gone": "Diese Quelle gibt es nicht mehr.",
    # --- latest ----------------------------------------------------------------------------
    "latest.usage": "So geht's: /latest [N] – N von 1 bis {max}, ohne N sind es {default}.",
    "latest.header": "<b>Die letzten Einträge ({count})</b>",
    "latest.empty": "Noch keine Einträge, die zu deinen Filtern passen.",
    "latest.no_subscriptions": "Hier ist keine Quelle abonniert – /sources zeigt, was es gibt.",
    # --- pushes: pause, quiet hours, digest, language --------------------------------
    "pause.done": (
        "Pausiert. Während der Pause wird nichts vorgemerkt; /resume schaltet die Pushes "
        "wieder ein."
    ),
    "pause.already": "Die Pushes sind schon pausiert. /resume schaltet sie wieder ein.",
    "resume.done": (
        "Weiter geht's: neue Einträge kommen wieder. Aus der Pause wird nichts nachgeliefert."
    ),
    "resume.already": "Die Pushes laufen bereits.",
    "quiet.usage": "So geht's: /quiet HH:MM-HH:MM (z. B. /quiet 22:00-07:00) oder /quiet off",
    "quiet.set": "Ruhezeit {start}–{end}: Pushes kommen dann ohne Ton.",
    "quiet.off": "Ruhezeit aus: Pushes kommen wieder mit Ton.",
    "digest.usage": "So geht's: /digest HH:MM (z. B. /digest 20:00) oder /digest off",
    "digest.set": "Tägliche Zusammenfassung um {time}.",
    "digest.off": "Tägliche Zusammenfassung aus.",
    "lang.usage": "So geht's: /lang de oder /lang en",
    "lang.set": "Ab jetzt spreche ich hier Deutsch.",
    # --- settings -------------------------------------------------------------------------
    "settings.header": "<b>Einstellungen für {chat}</b>",
    "settings.subscriptions": "Abonniert: {value}",
    "settings.filters": "Filter: {value}",
    "settings.pushes_on": "Pushes: an",
    "settings.pushes_paused": "Pushes: pausiert",
    "settings.quiet": "Ruhezeit: {value}",
    "settings.digest": "Zusammenfassung: {value}",
    "settings.language": "Sprache: {value}",
    "settings.none": "keine",
    "settings.off": "aus",
    "settings.this_chat": "diesen Chat",
    "language.de": "Deutsch",
    "language.en": "Englisch",
    # --- filters ---------------------------------------------------------------------------
    "kind.region": "Region",
    "kind.speaker": "Sprecher",
    "kind.keyword": "Stichwort",
    "kind.exclude": "Ausschluss",
    "filter.added": "Filter hinzugefügt – {kind}: {value}",
    "filter.exists": "Diesen Filter gibt es schon – {kind}: {value}",
    "filter.unseen": "Bisher passte noch kein Eintrag dazu; er greift, sobald einer erscheint.",
    "filter.limit": "Mehr als {max} Filter gehen nicht. Entferne zuerst welche mit /filters.",
    "filter.too_long": "Zu lang: höchstens {max} Zeichen.",
    "region.usage": "So geht's: /region NAME, z. B. /region Charkiw",
    "region.recent": "Regionen der letzten 7 Tage – tippe zum Hinzufügen:",
    "region.none_recent": "In den letzten 7 Tagen kam keine Region vor. So geht's: /region NAME",
    "speaker.usage": "So geht's: /speaker NAME, z. B. /speaker Sacharowa",
    "speaker.recent": "Sprecher der letzten 7 Tage – tippe zum Hinzufügen:",
    "speaker.none_recent": "In den letzten 7 Tagen kam kein Sprecher vor. So geht's: /speaker NAME",
    "keyword.usage": 'So geht\'s: /keyword WORT oder /keyword "eine Phrase"',
    "exclude.usage": 'So geht\'s: /exclude WORT oder /exclude "eine Phrase"',
    "filters.header": "<b>Filter</b> – tippe zum Entfernen:",
    "filters.line": "{kind}: {value}",
    "filters.button": "✖ {kind}: {value}",
    "filters.empty": "Keine Filter gesetzt: du bekommst alle Einträge deiner Quellen.",
    "filters.removed": "Filter entfernt – {kind}: {value}",
    "filters.gone": "Diesen Filter gibt es nicht mehr.",
    "clear.done": "{count} Filter entfernt: du bekommst wieder alle Einträge deiner Quellen.",
    "clear.none": "Es waren keine Filter gesetzt.",
    # --- guards ----------------------------------------------------------------------------
    "guard.admins_only": "Das dürfen in dieser Gruppe nur Admins – es bleibt alles, wie es war.",
    "guard.operators_only": "Das dürfen nur die Betreiber dieses Bots.",
    "throttle.slow_down": (
        "Langsam, bitte – zu viele Befehle auf einmal. Versuch es gleich noch einmal."
    ),
    "error.generic": "Da ist etwas schiefgegangen. Bitte versuch es gleich noch einmal.",
    # --- operators -------------------------------------------------------------------------
    "stats.header": "<b>Kennzahlen</b>",
    "stats.chats": "Chats: {active} aktiv, {inactive} inaktiv",
    "stats.subscriptions": "Abos: {count}",
    "stats.entries": "Einträge: {count}",
    "stats.queue": "Warteschlange: {deliveries} Zustellungen, {edits} Korrekturen",
    "stats.sent": "Gesendet in der letzten Stunde: {count}",
    "stats.sources": "<b>Quellen</b>",
    "stats.source": (
        "<code>{id}</code>: zuletzt {polled}, Status {status}, Fehlschläge in Folge {failures}"
    ),
    "stats.source_error": "  Fehler: {error}",
    "stats.never": "nie",
    "poll.header": "<b>Abruf aller Quellen</b>",
    "poll.line": (
        "<code>{id}</code>: {status}, neu {new}, geändert {updated}, zugestellt an {queued}"
    ),
    "poll.error": "  Fehler: {error}",
    "poll.none": "Es sind keine Quellen eingerichtet.",
}

EN: Final[Mapping[str, str]] = {
    "cmd.start": "Start and subscribe to the default sources",
    "cmd.help": "All commands",
    "cmd.stop": "End all subscriptions (filters stay)",
    "cmd.sources": "Show sources and toggle them",
    "cmd.subscribe": "Subscribe to a source: /subscribe ID",
    "cmd.unsubscribe": "Unsubscribe from a source: /unsubscribe ID",
    "cmd.latest": "The latest entries: /latest [N]",
    "cmd.pause": "Pause pushes",
    "cmd.resume": "Resume pushes",
    "cmd.quiet": "Quiet hours: /quiet 22:00-07:00 or off",
    "cmd.digest": "Daily summary: /digest 20:00 or off",
    "cmd.lang": "Language: /lang de or en",
    "cmd.settings": "Everything set for this chat",
    "cmd.region": "Region filter: /region NAME",
    "cmd.speaker": "Speaker filter: /speaker NAME",
    "cmd.keyword": "Keyword filter: /keyword WORD",
    "cmd.exclude": "Never push entries containing WORD",
    "cmd.filters": "Show and remove filters",
    "cmd.clear": "Remove all filters",
    "cmd.stats": "Figures (operators only)",
    "cmd.poll": "Poll all sources now (operators only)",
    "start.greeting": "Hello! I send you new entries from live tickers as soon as they appear.",
    "start.subscribed": "Subscribed: {sources}.",
    "start.no_sources": "No source subscribed yet – /sources shows what there is.",
    "start.group_readonly": "In this group only admins can subscribe to sources.",
    "help.header": "<b>Commands</b>",
    "help.line": "/{name} – {description}",
    "help.operators": "<b>For operators</b>",
    "unknown.command": "I don't know that command. /help lists them all.",
    "stop.done": (
        "Unsubscribed: no more pushes. Your filters and settings are kept; /start subscribes again."
    ),
    "stop.nothing": "Nothing was subscribed here. Filters and settings are kept.",
    "sources.header": "<b>Sources</b> (✅ subscribed) – tap to toggle:",
    "sources.line": "{mark} {name} (<code>{id}</code>)",
    "sources.none": "No sources are configured.",
    "subscribe.usage": "Usage: /subscribe ID – valid IDs: {ids}",
    "subscribe.done": "Subscribed: {sources}.",
    "subscribe.already": "Already subscribed: {sources}.",
    "subscribe.choose": "Which source do you want to subscribe to?",
    "subscribe.all": "You are already subscribed to every source.",
    "unsubscribe.usage": "Usage: /unsubscribe ID – valid IDs: {ids}",
    "unsubscribe.done": "Unsubscribed: {sources}.",
    "unsubscribe.not_subscribed": "Not subscribed: {sources}.",
    "unsubscribe.choose": "Which source do you want to unsubscribe from?",
    "unsubscribe.nothing": "No source is subscribed here.",
    "toast.subscribed": "Subscribed: {name}",
    "toast.unsubscribed": "Unsubscribed: {name}",
    "toast.source_gone": "That source no longer exists.",
    "latest.usage": "Usage: /latest [N] – N from 1 to {max}, {default} without N.",
    "latest.header": "<b>Latest entries ({count})</b>",
    "latest.empty": "No entries match your filters yet.",
    "latest.no_subscriptions": "No source is subscribed here – /sources shows what there is.",
    "pause.done": "Paused. Nothing is queued while paused; /resume turns pushes back on.",
    "pause.already": "Pushes are already paused. /resume turns them back on.",
    "resume.done": "Resumed: new entries arrive again. Nothing from the pause is delivered later.",
    "resume.already": "Pushes are already running.",
    "quiet.usage": "Usage: /quiet HH:MM-HH:MM (e.g. /quiet 22:00-07:00) or /quiet off",
    "quiet.set": "Quiet hours {start}–{end}: pushes arrive without sound then.",
    "quiet.off": "Quiet hours off: pushes make a sound again.",
    "digest.usage": "Usage: /digest HH:MM (e.g. /digest 20:00) or /digest off",
    "digest.set": "Daily summary at {time}.",
    "digest.off": "Daily summary off.",
    "lang.usage": "Usage: /lang de or /lang en",
    "lang.set": "From now on I speak English here.",
    "settings.header": "<b>Settings for {chat}</b>",
    "settings.subscriptions": "Subscribed: {value}",
    "settings.filters": "Filters: {value}",
    "settings.pushes_on": "Pushes: on",
    "settings.pushes_paused": "Pushes: paused",
    "settings.quiet": "Quiet hours: {value}",
    "settings.digest": "Daily summary: {value}",
    "settings.language": "Language: {value}",
    "settings.none": "none",
    "settings.off": "off",
    "settings.this_chat": "this chat",
    "language.de": "German",
    "language.en": "English",
    "kind.region": "Region",
    "kind.speaker": "Speaker",
    "kind.keyword": "Keyword",
    "kind.exclude": "Exclude",
    "filter.added": "Filter added – {kind}: {value}",
    "filter.exists": "That filter is already set – {kind}: {value}",
    "filter.unseen": "Nothing has matched it yet; it applies as soon as something does.",
    "filter.limit": "No more than {max} filters. Remove some first with /filters.",
    "filter.too_long": "Too long: at most {max} characters.",
    "region.usage": "Usage: /region NAME, e.g. /region Kharkiv",
    "region.recent": "Regions of the last 7 days – tap to add:",
    "region.none_recent": "No region appeared in the last 7 days. Usage: /region NAME",
    "speaker.usage": "Usage: /speaker NAME, e.g. /speaker Zakharova",
    "speaker.recent": "Speakers of the last 7 days – tap to add:",
    "speaker.none_recent": "No speaker appeared in the last 7 days. Usage: /speaker NAME",
    "keyword.usage": 'Usage: /keyword WORD or /keyword "a phrase"',
    "exclude.usage": 'Usage: /exclude WORD or /exclude "a phrase"',
    "filters.header": "<b>Filters</b> – tap to remove:",
    "filters.line": "{kind}: {value}",
    "filters.button": "✖ {kind}: {value}",
    "filters.empty": "No filters set: you get every entry of your sources.",
    "filters.removed": "Filter removed – {kind}: {value}",
    "filters.gone": "That filter no longer exists.",
    "clear.done": "{count} filters removed: you get every entry of your sources again.",
    "clear.none": "There were no filters.",
    "guard.admins_only": "In this group only admins may do that – nothing was changed.",
    "guard.operators_only": "Only the operators of this bot may do that.",
    "throttle.slow_down": "Slow down, please – too many commands at once. Try again in a moment.",
    "error.generic": "Something went wrong. Please try again in a moment.",
    "stats.header": "<b>Figures</b>",
    "stats.chats": "Chats: {active} active, {inactive} inactive",
    "stats.subscriptions": "Subscriptions: {count}",
    "stats.entries": "Entries: {count}",
    "stats.queue": "Queue: {deliveries} deliveries, {edits} edits",
    "stats.sent": "Sent in the last hour: {count}",
    "stats.sources": "<b>Sources</b>",
    "stats.source": (
        "<code>{id}</code>: last poll {polled}, status {status}, consecutive failures {failures}"
    ),
    "stats.source_error": "  Error: {error}",
    "stats.never": "never",
    "poll.header": "<b>Polled all sources</b>",
    "poll.line": "<code>{id}</code>: {status}, new {new}, updated {updated}, delivered to {queued}",
    "poll.error": "  Error: {error}",
    "poll.none": "No sources are configured.",
}

CATALOGS: Final[Mapping[Language, Mapping[str, str]]] = {"de": DE, "en": EN}


def is_language(value: object) -> TypeGuard[Language]:
    return value in LANGUAGES


def language_or(value: str | None, default: str) -> Language:
    """The chat's language if it is one we speak, else ``default``, else the fallback."""
    for candidate in (value, default):
        if is_language(candidate):
            return candidate
    return FALLBACK


def escape(value: object) -> str:
    """HTML-escape one value for insertion into a template (quotes too: safe in href)."""
    return html.escape(str(value), quote=True)


def t_plain(lang: str, key: str, **values: object) -> str:
    """The template filled in without escaping: for text Telegram does not parse as HTML."""
    catalog = CATALOGS[language_or(lang, FALLBACK)]
    return catalog[key].format(**values)


def t(lang: str, key: str, **values: object) -> str:
    """The template as Telegram HTML, every value escaped (user input and stored names)."""
    return t_plain(lang, key, **{name: escape(value) for name, value in values.items()})
