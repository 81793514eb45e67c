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
    "cmd.channel": "Kanal verwalten: /channel @NAME, /channel off",
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
    "cmd.today": "Heutige Zusammenfassung: /today [NAME]",
    "cmd.search": "Im Ticker suchen: /search BEGRIFF",
    "today.usage": "So geht's: /today oder /today NAME – NAME ist eine Region oder ein Sprecher.",
    "today.empty_nothing": "Heute gibt es noch keine Einträge, und auch sonst noch keine.",
    "today.empty_focus": "Heute noch keine Einträge zu {name}.",
    "today.empty_latest": "Heute gibt es noch keine Einträge. Die letzten:",
    "today.empty_focus_latest": "Heute noch keine Einträge zu {name}. Die letzten insgesamt:",
    "search.usage": (
        'So geht\'s: /search Wörter – alle müssen vorkommen, "genaue Phrase", -wort schließt aus.'
    ),
    "search.nothing": "Nichts gefunden für „{query}“.",
    "search.header": "🔎 <b>{count} neueste Treffer für „{query}“</b>",
    "search.truncated": "(Die Suche war sehr lang und wurde gekürzt.)",
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
    "stats.queue": (
        "Warteschlange: {deliveries} Zustellungen, {edits} Korrekturen, "
        "{fanouts} neue Einträge noch an Abonnenten zu verteilen"
    ),
    "stats.sent": "Gesendet in der letzten Stunde: {count}",
    "stats.sources": "<b>Quellen</b>",
    "stats.source": (
        "<code>{id}</code>: zuletzt {polled}, Status {status}, Fehlschläge in Folge {failures}"
    ),
    "stats.source_error": "  Fehler: {error}",
    "stats.never": "nie",
    "poll.header": "<b>Abruf aller Quellen</b>",
    "poll.line": (
        "<code>{id}</code>: {status}, neu {new} ({pushed} an Abonnenten), geändert {updated}"
    ),
    "poll.error": "  Fehler: {error}",
    "poll.none": "Es sind keine Quellen eingerichtet.",
    # --- groups and channels (issue 6) ----------------------------------------------------
    "group.greeting": (
        "Hallo! Ich poste hier neue Einträge aus Livetickern, sobald sie erscheinen. "
        "Ein Admin startet mit /start@{bot}; /help@{bot} zeigt alle Befehle. "
        "Einstellungen ändern nur Admins."
    ),
    "managed.header": "⚙️ Kanal „{title}“",
    "managed.not_admin": (
        "Du bist kein Admin des Kanals „{title}“ mehr – es bleibt alles, wie es war. "
        "/channel off verwaltet wieder diesen Chat."
    ),
    "managed.inactive": (
        "Ich kann im Kanal „{title}“ nicht mehr posten – es bleibt alles, wie es war. "
        "Füge mich dort wieder als Admin hinzu oder /channel off."
    ),
    "channel.private_only": (
        "/channel geht nur im privaten Chat mit mir. Eine Gruppe verwaltet ihr direkt hier."
    ),
    "channel.usage": (
        "So geht's: /channel @NAME oder /channel -100… bindet einen Kanal; /channel allein "
        "zeigt deine Kanäle; /channel off verwaltet wieder diesen Chat; "
        "/channel remove @NAME löst die Bindung."
    ),
    "channel.not_found": (
        "Den Chat {ref} finde ich nicht. Prüfe den Namen; bei einem privaten Kanal füge mich "
        "zuerst als Admin hinzu und nimm seine ID (-100…)."
    ),
    "channel.no_access": (
        "Auf {ref} habe ich keinen Zugriff: ich bin dort nicht Mitglied. Füge mich im Kanal "
        "als Admin mit dem Recht „Nachrichten posten“ hinzu und versuch es noch einmal."
    ),
    "channel.not_channel": (
        "„{title}“ ist kein Kanal. Eine Gruppe verwaltet ihr direkt in der Gruppe (Admins: /start)."
    ),
    "channel.refused": "Den Kanal „{title}“ kann ich noch nicht binden:",
    "channel.bot_not_admin": (
        "• Ich bin dort kein Admin. Abhilfe: Kanal → Administratoren → Admin hinzufügen → "
        "@{bot}, mit dem Recht „Nachrichten posten“."
    ),
    "channel.bot_cannot_post": (
        "• Ich bin dort Admin, darf aber nicht posten. Abhilfe: in meinen Admin-Rechten "
        "„Nachrichten posten“ einschalten."
    ),
    "channel.user_not_admin": (
        "• Du bist weder Ersteller noch Admin des Kanals. Abhilfe: ein Admin bindet ihn, "
        "oder der Ersteller macht dich zum Admin."
    ),
    "channel.user_unknown": (
        "• Ob du dort Admin bist, verrät Telegram mir nicht. Versuch es gleich noch einmal."
    ),
    "channel.bound": (
        "✅ Kanal „{title}“ ist gebunden. Abonniert: {sources}.\n"
        "Ab jetzt verwalten deine Befehle hier diesen Kanal (/sources, /region, /keyword, "
        "/quiet, /settings …); jede Antwort nennt ihn in der ersten Zeile. "
        "/channel off verwaltet wieder diesen Chat."
    ),
    "channel.none": (
        "Du hast noch keinen Kanal gebunden. So geht's: füge mich in deinem Kanal als Admin "
        "mit „Nachrichten posten“ hinzu, dann /channel @NAME (oder /channel -100…)."
    ),
    "channel.list_header": "<b>Deine Kanäle</b>",
    "channel.line_managed": "⚙️ {name} – wird gerade verwaltet",
    "channel.line_bound": "• {name} – gebunden",
    "channel.line_inactive": "⚠️ {name} – ich kann dort nicht mehr posten",
    "channel.line_added": "➕ {name} – von dir hinzugefügt, noch nicht gebunden",
    "channel.list_hint": (
        "Tippe, um zu wechseln. /channel off verwaltet wieder diesen Chat; "
        "/channel remove @NAME löst eine Bindung."
    ),
    "channel.button_manage": "⚙️ {title} verwalten",
    "channel.button_bind": "➕ {title} binden",
    "channel.button_off": "↩️ Diesen Chat verwalten",
    "channel.off": "Deine Befehle gelten wieder diesem Chat.",
    "channel.off_already": "Du verwaltest gerade keinen Kanal; deine Befehle gelten diesem Chat.",
    "channel.managing_toast": "Verwaltet jetzt: {title}",
    "channel.off_toast": "Deine Befehle gelten wieder diesem Chat.",
    "channel.gone_toast": "Diesen Kanal kann ich nicht verwalten – /channel zeigt, was geht.",
    "channel.not_bound": "Der Kanal {ref} ist nicht gebunden. /channel zeigt deine Kanäle.",
    "channel.remove_not_admin": (
        "Nur Admins des Kanals „{title}“ können die Bindung lösen – du bist dort keiner."
    ),
    "channel.removed": (
        "Bindung gelöst: Kanal „{title}“ bekommt nichts mehr (beendet: {sources})."
    ),
    "channel.back_here": "Deine Befehle gelten wieder diesem Chat.",
    "channel.lost": (
        "⚠️ Ich wurde aus dem Kanal „{title}“ entfernt oder darf dort nicht mehr posten: "
        "Pushes dorthin sind gestoppt, Vorgemerktes ist verworfen. Füge mich wieder als Admin "
        "mit „Nachrichten posten“ hinzu, dann geht es mit denselben Einstellungen weiter. "
        "Deine Befehle gelten wieder diesem Chat."
    ),
    "channel.added": (
        "Ich bin jetzt Admin im Kanal „{title}“. Tippe auf den Knopf oder schick "
        "/channel, um ihn zu binden."
    ),
    "channel.back": "Ich darf im Kanal „{title}“ wieder posten: seine Abos laufen weiter.",
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
    "cmd.channel": "Manage a channel: /channel @NAME, /channel off",
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
    "cmd.today": "Today's summary: /today [NAME]",
    "cmd.search": "Search the ticker: /search WORDS",
    "today.usage": "Usage: /today or /today NAME – NAME is a region or a speaker.",
    "today.empty_nothing": "No entries today yet, and none before either.",
    "today.empty_focus": "No entries about {name} today yet.",
    "today.empty_latest": "No entries today yet. The latest:",
    "today.empty_focus_latest": "No entries about {name} today yet. The latest overall:",
    "search.usage": 'Usage: /search words – all must occur, "exact phrase", -word excludes.',
    "search.nothing": "Nothing found for “{query}”.",
    "search.header": "🔎 <b>{count} newest matches for “{query}”</b>",
    "search.truncated": "(The query was very long and has been shortened.)",
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
    "stats.queue": (
        "Queue: {deliveries} deliveries, {edits} edits, "
        "{fanouts} new entries still being fanned out to subscribers"
    ),
    "stats.sent": "Sent in the last hour: {count}",
    "stats.sources": "<b>Sources</b>",
    "stats.source": (
        "<code>{id}</code>: last poll {polled}, status {status}, consecutive failures {failures}"
    ),
    "stats.source_error": "  Error: {error}",
    "stats.never": "never",
    "poll.header": "<b>Polled all sources</b>",
    "poll.line": (
        "<code>{id}</code>: {status}, new {new} ({pushed} pushed to subscribers), updated {updated}"
    ),
    "poll.error": "  Error: {error}",
    "poll.none": "No sources are configured.",
    "group.greeting": (
        "Hello! I post new entries from live tickers here as soon as they appear. "
        "An admin starts me with /start@{bot}; /help@{bot} lists the commands. "
        "Only admins change settings."
    ),
    "managed.header": "⚙️ Channel “{title}”",
    "managed.not_admin": (
        "You are no longer an admin of the channel “{title}” – nothing was changed. "
        "/channel off manages this chat again."
    ),
    "managed.inactive": (
        "I can no longer post in the channel “{title}” – nothing was changed. "
        "Add me there as an admin again, or /channel off."
    ),
    "channel.private_only": (
        "/channel works only in a private chat with me. A group is managed right here."
    ),
    "channel.usage": (
        "Usage: /channel @NAME or /channel -100… binds a channel; /channel alone lists your "
        "channels; /channel off manages this chat again; /channel remove @NAME unbinds."
    ),
    "channel.not_found": (
        "I can't find the chat {ref}. Check the name; for a private channel add me as an "
        "admin first and use its id (-100…)."
    ),
    "channel.no_access": (
        "I have no access to {ref}: I am not a member there. Add me to the channel as an "
        "admin with the right to post messages, then try again."
    ),
    "channel.not_channel": (
        "“{title}” is not a channel. A group is managed right in the group (admins: /start)."
    ),
    "channel.refused": "I can't bind the channel “{title}” yet:",
    "channel.bot_not_admin": (
        "• I am not an admin there. Fix: channel → Administrators → Add Admin → @{bot}, "
        "with the right to post messages."
    ),
    "channel.bot_cannot_post": (
        "• I am an admin there but may not post. Fix: turn on “Post Messages” in my admin rights."
    ),
    "channel.user_not_admin": (
        "• You are neither the creator nor an admin of the channel. Fix: let an admin bind "
        "it, or ask the creator to make you an admin."
    ),
    "channel.user_unknown": (
        "• Telegram won't tell me whether you are an admin there. Try again in a moment."
    ),
    "channel.bound": (
        "✅ The channel “{title}” is bound. Subscribed: {sources}.\n"
        "From now on your commands here manage that channel (/sources, /region, /keyword, "
        "/quiet, /settings …); every reply names it in its first line. "
        "/channel off manages this chat again."
    ),
    "channel.none": (
        "You have not bound a channel yet. How: add me to your channel as an admin with the "
        "right to post messages, then /channel @NAME (or /channel -100…)."
    ),
    "channel.list_header": "<b>Your channels</b>",
    "channel.line_managed": "⚙️ {name} – managed now",
    "channel.line_bound": "• {name} – bound",
    "channel.line_inactive": "⚠️ {name} – I can no longer post there",
    "channel.line_added": "➕ {name} – added by you, not bound yet",
    "channel.list_hint": (
        "Tap to switch. /channel off manages this chat again; /channel remove @NAME unbinds."
    ),
    "channel.button_manage": "⚙️ Manage {title}",
    "channel.button_bind": "➕ Bind {title}",
    "channel.button_off": "↩️ Manage this chat",
    "channel.off": "Your commands act on this chat again.",
    "channel.off_already": "You are not managing a channel; your commands act on this chat.",
    "channel.managing_toast": "Now managing: {title}",
    "channel.off_toast": "Your commands act on this chat again.",
    "channel.gone_toast": "I can't manage that channel – /channel shows what you can.",
    "channel.not_bound": "The channel {ref} is not bound. /channel lists your channels.",
    "channel.remove_not_admin": (
        "Only admins of the channel “{title}” can unbind it – you are not one."
    ),
    "channel.removed": ("Unbound: the channel “{title}” gets nothing more (ended: {sources})."),
    "channel.back_here": "Your commands act on this chat again.",
    "channel.lost": (
        "⚠️ I was removed from the channel “{title}” or may no longer post there: pushes "
        "there have stopped and what was queued is dropped. Add me as an admin with the "
        "right to post messages again and it continues with the same settings. "
        "Your commands act on this chat again."
    ),
    "channel.added": (
        "I am now an admin of the channel “{title}”. Tap the button or send /channel to bind it."
    ),
    "channel.back": "I may post in the channel “{title}” again: its subscriptions continue.",
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
