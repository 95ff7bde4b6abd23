"""Numbers and rows as the analyses' JSON carries them: floats rounded, NaN as null."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd


def num(v: Any, nd: int | None = 3) -> float | None:
    """``v`` as a float rounded to ``nd`` places (unrounded when None); None for NaN or a
    value that is not a number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if np.isnan(f):
        return None
    return f if nd is None else round(f, nd)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN as None."""
    return json.loads(df.to_json(orient="records"))
