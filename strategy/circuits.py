"""One key per circuit: slugs of event names, with renamed events merged."""

from __future__ import annotations

import re
import unicodedata


def circuit_slug(event_name: str) -> str:
    """'São Paulo Grand Prix' -> 'sao-paulo' (the middle of a session key)."""
    text = unicodedata.normalize("NFKD", str(event_name)).encode("ascii", "ignore").decode()
    text = re.sub(r"\bgrand prix\b", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


#: Other names of the same circuit (event renamed, or a slug written differently).
CIRCUIT_ALIASES = {
    "saudi-arabia": "saudi-arabian", "mexican": "mexico-city", "mexico": "mexico-city",
    "brazilian": "sao-paulo", "brazil": "sao-paulo", "styrian": "austrian", "austria": "austrian",
    "70th-anniversary": "british", "britain": "british", "great-britain": "british",
    "sakhir": "bahrain", "abu-dhabi-grand-prix": "abu-dhabi",
    "usa": "united-states", "us": "united-states", "italy": "italian", "emilia": "emilia-romagna",
    "imola": "emilia-romagna", "monza": "italian", "baku": "azerbaijan", "spain": "spanish",
    "hungary": "hungarian", "japan": "japanese", "china": "chinese", "belgium": "belgian",
    "netherlands": "dutch", "canada": "canadian", "australia": "australian",
    "france": "french", "portugal": "portuguese", "russia": "russian", "turkey": "turkish",
}  # fmt: skip


def canonical_circuit(name: str) -> str:
    """The one key of a circuit: slug of an event name or slug, renamed events merged."""
    slug = circuit_slug(str(name).replace("-", " "))
    return CIRCUIT_ALIASES.get(slug, slug)
