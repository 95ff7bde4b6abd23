"""Trained models on disk, and the bundle the rest of pitwall uses (``RaceModels``).

An artifact is a folder ``laptime-<version>/`` under the model directory holding the LightGBM
booster (``model.txt``) and ``metadata.json``: data files and seasons used, features, metrics,
and the circuit tables (pit loss, SC/VSC hazard, compound priors) fitted beside it. Without an
artifact, ``load_models`` builds the circuit tables from the data directory and runs on priors.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from strategy.data import COMPOUNDS, canonical_circuit
from strategy.degradation import DEFAULT_OFFSET, DEFAULT_SLOPE, CompoundPrior
from strategy.laptime import FEATURES, LapTimeModel
from strategy.pitloss import DEFAULT_PIT_LOSS
from strategy.safety_car import Hazard

log = logging.getLogger(__name__)

#: Circuits where passing is hard (pass_delta scale > 1) or easy (< 1).
PASS_DIFFICULTY = {
    "monaco": 3.0, "singapore": 1.8, "hungarian": 1.6, "emilia-romagna": 1.5, "spanish": 1.3,
    "dutch": 1.4, "japanese": 1.2, "bahrain": 0.8, "belgian": 0.8, "italian": 0.8,
    "saudi-arabian": 0.8, "las-vegas": 0.8, "chinese": 0.9, "sao-paulo": 0.9,
}  # fmt: skip


PACE_SD = 0.15  # s per lap: per-race uncertainty of a car's pace in the Monte Carlo
DNF_PER_LAP = 0.0012  # chance a running car retires on a given lap (when history is missing)


@dataclass
class RaceModels:
    """Everything the simulator and the decision engine need, fitted or prior."""

    version: str = "priors"
    laptime: LapTimeModel | None = None
    pit_losses: dict[str, float] = field(default_factory=dict)
    hazards: dict[str, Hazard] = field(default_factory=dict)
    global_hazard: Hazard = field(default_factory=lambda: Hazard(0.012, 0.01, 0))
    priors: dict[str, CompoundPrior] = field(default_factory=dict)
    deg_scale: dict[str, float] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    pace_sd: float = PACE_SD
    p_dnf: float = DNF_PER_LAP

    @staticmethod
    def key(circuit: str) -> str:
        """The table key of a circuit slug or event name ('saudi-arabia' -> 'saudi-arabian')."""
        return canonical_circuit(circuit)

    def pit_loss(self, circuit: str) -> float:
        return self.pit_losses.get(self.key(circuit), DEFAULT_PIT_LOSS)

    def sc_hazard(self, circuit: str) -> tuple[float, float]:
        h = self.hazards.get(self.key(circuit), self.global_hazard)
        return h.p_sc, h.p_vsc

    def pass_delta(self, circuit: str) -> float:
        return 0.6 * PASS_DIFFICULTY.get(self.key(circuit), 1.0)

    def compound_arrays(self, circuit: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pace offsets and degradation slopes (at ``circuit``) indexed like ``COMPOUNDS``."""
        scale = self.deg_scale.get(self.key(circuit), 1.0) if circuit else 1.0
        off = [self.priors[c].offset if c in self.priors else DEFAULT_OFFSET[c] for c in COMPOUNDS]
        slope = [self.priors[c].slope if c in self.priors else DEFAULT_SLOPE[c] for c in COMPOUNDS]
        return np.array(off, np.float32), np.array(slope, np.float32) * np.float32(scale)


def circuit_tables(data_dir: Path, laps=None) -> dict:
    """Pit loss, hazards and compound priors from the data directory (seconds, not minutes)."""
    from strategy.data import lap_files, read_laps
    from strategy.degradation import compound_priors
    from strategy.pitloss import ergast_pit_durations, pit_loss_from_laps
    from strategy.safety_car import hazards, sc_history

    if laps is None:
        laps = read_laps(lap_files(data_dir, range(2021, 2024)))
    losses = pit_loss_from_laps(laps)
    for circuit, duration in ergast_pit_durations(data_dir).items():
        losses.setdefault(circuit, duration - 2.0)  # lane time minus the bit of lap it replaces
    table, overall = hazards(sc_history(data_dir))
    priors = compound_priors(laps)
    deg_scale = priors.pop("_circuits", {})
    for comp, prior in priors.items():
        # Stint offsets in race data are confounded with fuel and track evolution: blend them
        # with the usual pace gaps between compounds.
        prior.offset = 0.5 * prior.offset + 0.5 * DEFAULT_OFFSET.get(comp, 0.0)
    return {
        "pit_losses": losses,
        "hazards": {k: vars(v) for k, v in table.items()},
        "global_hazard": vars(overall),
        "priors": {k: vars(v) for k, v in priors.items()},
        "deg_scale": deg_scale,
    }


def _from_tables(tables: dict, **kw) -> RaceModels:
    return RaceModels(
        pit_losses={k: float(v) for k, v in tables["pit_losses"].items()},
        hazards={k: Hazard(**v) for k, v in tables["hazards"].items()},
        global_hazard=Hazard(**tables["global_hazard"]),
        priors={k: CompoundPrior(**v) for k, v in tables["priors"].items()},
        deg_scale={k: float(v) for k, v in tables.get("deg_scale", {}).items()},
        **kw,
    )


def save(model: LapTimeModel, tables: dict, metadata: dict, model_dir: Path) -> Path:
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = model_dir / f"laptime-{version}"
    folder.mkdir(parents=True, exist_ok=False)
    model.booster.save_model(str(folder / "model.txt"))
    meta = {
        "version": version,
        "features": FEATURES,
        "circuits": model.circuits,
        "tables": tables,
        **metadata,
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder


def latest_artifact(model_dir: Path) -> Path | None:
    found = sorted(p for p in model_dir.glob("laptime-*") if (p / "metadata.json").exists())
    return found[-1] if found else None


_priors_cache: dict[Path, dict] = {}


def load_models(model_dir: Path, data_dir: Path) -> RaceModels:
    """The newest trained artifact in ``model_dir``, or priors from the data directory."""
    folder = latest_artifact(model_dir) if model_dir.exists() else None
    if folder is not None:
        import lightgbm as lgb

        meta = json.loads((folder / "metadata.json").read_text())
        booster = lgb.Booster(model_file=str(folder / "model.txt"))
        return _from_tables(
            meta["tables"],
            version=meta["version"],
            laptime=LapTimeModel(booster, meta["circuits"], list(meta.get("features", FEATURES))),
            metadata=meta,
        )
    log.warning(
        "no trained model in %s; using priors from %s (run `pitwall train`)", model_dir, data_dir
    )
    if data_dir not in _priors_cache:
        started = time.monotonic()
        _priors_cache[data_dir] = circuit_tables(data_dir)
        log.info("priors built in %.1f s", time.monotonic() - started)
    return _from_tables(_priors_cache[data_dir], version="priors")
