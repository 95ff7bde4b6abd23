"""Which constructor carries on which: a team renamed or sold keeps its factory, its people and
most of its car, so its ratings, form and standing carry over.

``LINEAGE`` maps a constructor's Ergast reference to the one it took over from (Ergast gives a
renamed team a new id: Brawn became Mercedes, Toro Rosso AlphaTauri then RB, Force India
Racing Point then Aston Martin, Renault Alpine, ...). ``team_keys`` gives every constructor id
the id of the first team of its line, the key the feature builder rates teams under.
"""

from __future__ import annotations

import pandas as pd

#: successor -> predecessor (Ergast ``constructor_ref``), from 1990 on.
LINEAGE = {
    "renault": "benetton",
    "lotus_f1": "renault",
    "alpine": "renault",
    "jaguar": "stewart",
    "red_bull": "jaguar",
    "bar": "tyrrell",
    "honda": "bar",
    "brawn": "honda",
    "mercedes": "brawn",
    "toro_rosso": "minardi",
    "alphatauri": "toro_rosso",
    "rb": "alphatauri",
    "mf1": "jordan",
    "spyker_mf1": "mf1",
    "spyker": "spyker_mf1",
    "force_india": "spyker",
    "racing_point": "force_india",
    "aston_martin": "racing_point",
    "bmw_sauber": "sauber",
    "alfa": "sauber",
    "marussia": "virgin",
    "manor": "marussia",
    "caterham": "lotus_racing",
    "prost": "ligier",
    "footwork": "arrows",
}


def team_keys(constructors: pd.DataFrame | None) -> dict[int, int]:
    """Constructor id -> the id of the first team of its line (itself when it has none)."""
    if constructors is None or constructors.empty:
        return {}
    by_ref = dict(zip(constructors["constructor_ref"], constructors["constructor_id"], strict=True))
    out: dict[int, int] = {}
    for ref, cid in by_ref.items():
        root, seen = ref, {ref}
        while LINEAGE.get(root) in by_ref and LINEAGE[root] not in seen:
            root = LINEAGE[root]
            seen.add(root)
        out[int(cid)] = int(by_ref[root])
    return out
