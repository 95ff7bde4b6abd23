"""Writing a race-model artifact: the tables fitted beside the lap-time model, and the folder.

``circuit_tables`` fits the tables the live engine reads besides the fitted hazards (compound
priors, the circuits' wear scale, dry references for wet starts); ``save`` writes a
``laptime-<version>/`` folder that ``strategy.artifacts.load_models`` reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from strategy.circuits import canonical_circuit
from strategy.degradation import DEFAULT_OFFSET
from strategy.lapfeatures import FEATURES
from strategy.laptime import LapTimeModel


def circuit_tables(data_dir: Path, laps=None) -> dict:
    """Compound priors, the circuits' wear scale and dry references from ``laps`` (default:
    the 2021-2023 lap CSVs of the data directory)."""
    from training.history import lap_files, read_laps
    from training.tyre_priors import compound_priors

    if laps is None:
        laps = read_laps(lap_files(data_dir, range(2021, 2024)))
    priors = compound_priors(laps)
    deg_scale = priors.pop("_circuits", {})
    for comp, prior in priors.items():
        # Stint offsets in race data are confounded with fuel and track evolution: blend them
        # with the usual pace gaps between compounds.
        prior.offset = 0.5 * prior.offset + 0.5 * DEFAULT_OFFSET.get(comp, 0.0)
    return {
        "dry_refs": dry_references(laps),
        "priors": {k: vars(v) for k, v in priors.items()},
        "deg_scale": deg_scale,
    }


def dry_references(laps) -> dict[str, float]:
    """Per circuit key, the dry reference of its latest race in ``laps``
    (:func:`training.wet.history.race_dry_paces`)."""
    from training.wet.history import race_dry_paces

    paces = race_dry_paces(laps).sort_values(["season", "round"])
    return {canonical_circuit(r.circuit): float(r.dry_pace) for r in paces.itertuples()}


def save(model: LapTimeModel, tables: dict, metadata: dict, model_dir: Path) -> Path:
    """Write ``laptime-<version>/`` (boosters and ``metadata.json``) into ``model_dir``."""
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = model_dir / f"laptime-{version}"
    folder.mkdir(parents=True, exist_ok=False)
    model.near.save_model(str(folder / "near.txt"))
    model.far.save_model(str(folder / "far.txt"))
    meta = {
        "version": version,
        "features": FEATURES,
        "circuits": model.circuits,
        "tables": tables,
        **metadata,
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder
