"""The tyre compounds the race model knows, in the order its arrays index them."""

from __future__ import annotations

DRY = ("SOFT", "MEDIUM", "HARD")


COMPOUNDS = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET")


COMPOUND_INDEX = {c: i for i, c in enumerate(COMPOUNDS)}
