"""Trained models on disk, and the bundle the rest of pitwall uses (``RaceModels``).

An artifact is a folder ``laptime-<version>/`` under the model directory holding the LightGBM
boosters of the lap-time model (``near.txt``, ``far.txt``) and ``metadata.json``: data files and
seasons used, features, metrics, and the circuit tables (pit loss, SC/VSC hazard, compound
priors) fitted beside it. Without an
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

from strategy import hazards
from strategy.data import COMPOUNDS, canonical_circuit
from strategy.degradation import DEFAULT_OFFSET, DEFAULT_SLOPE, CompoundPrior
from strategy.hazards import HazardModels
from strategy.lapfeatures import FEATURES
from strategy.laptime import LapTimeModel
from training.hazards.sc_rates import Hazard
from training.hazards.stops import DEFAULT_PIT_LOSS

log = logging.getLogger(__name__)

PASS_DELTA_S = 0.6  # s of pace advantage that gives a 50% pass chance at an average circuit
#: Share of the green-flag pit loss a stop costs under SC / VSC without fitted hazards (a red
#: flag allows a free tyre change in the pit lane).
SC_LOSS_FACTOR = {"sc": 0.45, "vsc": 0.65, "vsc_ending": 0.65, "red": 0.0}

#: s per lap: per-race uncertainty of a car's pace in the Monte Carlo (chosen on the 2023
#: back-test of a model trained on 2018-2022: benchmarks/RESULTS.md)
PACE_SD = 0.04
PACE_SHRINK = 0.35  # weight of a car's own pace against the field's in the Monte Carlo
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
    #: circuit -> multiplier of the measured wear that the teams' stops reveal (``"_all"``:
    #: every circuit's), fitted by ``training.wear``
    wear_scale: dict[str, float] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    pace_sd: float = PACE_SD
    p_dnf: float = DNF_PER_LAP
    pace_shrink: float = PACE_SHRINK
    #: SC/VSC, retirement, pit-loss, passing and undercut models fitted on history
    #: (``strategy.hazards``); None: the circuit tables and constants above
    fitted: HazardModels | None = None
    #: circuit -> a dry reference lap (fuel-corrected median slick pace at its best lap of
    #: the latest training race there), for a race that starts wet (``strategy.wet``)
    dry_refs: dict[str, float] = field(default_factory=dict)
    #: how far the simulated win chances move towards "the leader wins"
    #: (``strategy.calibration.leader_blend``), fitted by ``pitwall train`` on the last
    #: training season replayed by a model trained without it; 0: as simulated
    win_blend: float = 0.0

    @staticmethod
    def key(circuit: str) -> str:
        """The table key of a circuit slug or event name ('saudi-arabia' -> 'saudi-arabian')."""
        return canonical_circuit(circuit)

    def pit_loss(self, circuit: str, status: str = "green") -> float:
        """Median seconds a stop costs at ``circuit`` under ``status`` (green, sc, vsc, red)."""
        if self.fitted is not None:
            return hazards.pit_loss(self.fitted, circuit, status)[0]
        green = self.pit_losses.get(self.key(circuit), DEFAULT_PIT_LOSS)
        return green * SC_LOSS_FACTOR.get(status, 1.0)

    def pit_out_share(self, circuit: str) -> float:
        """Share of a green stop's loss at ``circuit`` still to come once a car has crossed
        the line on its in-lap (0 without fitted hazards: the car counts where it is)."""
        if self.fitted is not None:
            return hazards.pit_out_share(self.fitted, circuit)
        return 0.0

    def sc_hazard(
        self,
        circuit: str,
        lap: int = 10,
        wet_share: float = 0.0,
        recent_yellows: float = 0.0,
        recent_neutralisation: bool = False,
    ) -> tuple[float, float]:
        """Chances that an SC and a VSC start on a racing lap (``lap`` and the state of the
        race matter with fitted hazards)."""
        if self.fitted is not None:
            return hazards.sc_vsc_probability(
                self.fitted, circuit, lap, wet_share, recent_yellows, recent_neutralisation
            )
        h = self.hazards.get(self.key(circuit), self.global_hazard)
        return h.p_sc, h.p_vsc

    def dnf_probability(self, team: str | None, circuit: str, lap: int) -> float:
        """Chance that a running car of ``team`` retires on ``lap``."""
        if self.fitted is not None:
            return hazards.dnf_probability(self.fitted, team, circuit, lap)
        return self.p_dnf

    def pass_delta(self, circuit: str) -> float:
        """Seconds of pace advantage that give a 50% chance of passing on a lap at ``circuit``:
        larger where passes on track are rarer than at the average circuit (fitted)."""
        if self.fitted is None:
            return PASS_DELTA_S
        return PASS_DELTA_S * float(np.exp(-self.fitted.passing.log_ratio(self.key(circuit))))

    def dry_reference(self, circuit: str) -> float | None:
        """The circuit's dry reference lap in s (None: no dry race there in training)."""
        return self.dry_refs.get(self.key(circuit))

    def wear_multiplier(self, circuit: str | None) -> float:
        """How much harder than measured the tyres wear at ``circuit`` (teams' stops)."""
        default = self.wear_scale.get("_all", 1.0)
        return self.wear_scale.get(self.key(circuit), default) if circuit else default

    def compound_arrays(self, circuit: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pace offsets and measured wear slopes (at ``circuit``) indexed like ``COMPOUNDS``."""
        scale = self.deg_scale.get(self.key(circuit), 1.0) if circuit else 1.0
        off = [self.priors[c].offset if c in self.priors else DEFAULT_OFFSET[c] for c in COMPOUNDS]
        slope = [self.priors[c].slope if c in self.priors else DEFAULT_SLOPE[c] for c in COMPOUNDS]
        return np.array(off, np.float32), np.array(slope, np.float32) * np.float32(scale)


def circuit_tables(data_dir: Path, laps=None) -> dict:
    """Pit loss, hazards and compound priors from the data directory (seconds, not minutes)."""
    from strategy.data import lap_files, read_laps
    from strategy.degradation import compound_priors
    from training.hazards.sc_rates import hazards, sc_history
    from training.hazards.stops import ergast_pit_durations, pit_loss_from_laps

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
        "dry_refs": dry_references(laps),
        "pit_losses": losses,
        "hazards": {k: vars(v) for k, v in table.items()},
        "global_hazard": vars(overall),
        "priors": {k: vars(v) for k, v in priors.items()},
        "deg_scale": deg_scale,
    }


def dry_references(laps) -> dict[str, float]:
    """Per circuit key, the dry reference of its latest race in ``laps``
    (:func:`training.wet.history.race_dry_paces`)."""
    from training.wet.history import race_dry_paces

    paces = race_dry_paces(laps).sort_values(["season", "round"])
    return {canonical_circuit(r.circuit): float(r.dry_pace) for r in paces.itertuples()}


def models_from_tables(tables: dict, **kw) -> RaceModels:
    """The race models of fitted circuit tables (and ``kw``: the lap-time model, version)."""
    return RaceModels(
        pit_losses={k: float(v) for k, v in tables["pit_losses"].items()},
        hazards={k: Hazard(**v) for k, v in tables["hazards"].items()},
        global_hazard=Hazard(**tables["global_hazard"]),
        priors={k: CompoundPrior(**v) for k, v in tables["priors"].items()},
        deg_scale={k: float(v) for k, v in tables.get("deg_scale", {}).items()},
        wear_scale={k: float(v) for k, v in tables.get("wear_scale", {}).items()},
        dry_refs={k: float(v) for k, v in tables.get("dry_refs", {}).items()},
        fitted=HazardModels.from_dict(tables["fitted"]) if tables.get("fitted") else None,
        win_blend=float((tables.get("win_blend") or {}).get("weight", 0.0)),
        **kw,
    )


def save(model: LapTimeModel, tables: dict, metadata: dict, model_dir: Path) -> Path:
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


def latest_artifact(model_dir: Path) -> Path | None:
    """The newest artifact of the current format (older ones, without ``far.txt``, are left)."""
    found = sorted(
        p for p in model_dir.glob("laptime-*") if (p / "metadata.json").exists()
        and (p / "far.txt").exists()
    )  # fmt: skip
    return found[-1] if found else None


_priors_cache: dict[Path, dict] = {}


def load_models(model_dir: Path, data_dir: Path) -> RaceModels:
    """The newest trained artifact in ``model_dir``, or priors from the data directory."""
    folder = latest_artifact(model_dir) if model_dir.exists() else None
    if folder is not None:
        import lightgbm as lgb

        meta = json.loads((folder / "metadata.json").read_text())
        near = lgb.Booster(model_file=str(folder / "near.txt"))
        far = lgb.Booster(model_file=str(folder / "far.txt"))
        return models_from_tables(
            meta["tables"],
            version=meta["version"],
            laptime=LapTimeModel(near, far, meta["circuits"], list(meta["features"])),
            metadata=meta,
        )
    log.warning(
        "no trained model in %s; using priors from %s (run `pitwall train`)", model_dir, data_dir
    )
    if data_dir not in _priors_cache:
        started = time.monotonic()
        _priors_cache[data_dir] = circuit_tables(data_dir)
        log.info("priors built in %.1f s", time.monotonic() - started)
    return models_from_tables(_priors_cache[data_dir], version="priors")
