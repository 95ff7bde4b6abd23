"""Trained models on disk, and the bundle the rest of pitwall uses (``RaceModels``).

An artifact is a folder ``laptime-<version>/`` under the model directory holding the LightGBM
boosters of the lap-time model (``near.txt``, ``far.txt``) and ``metadata.json``: data files and
seasons used, features, metrics, and the tables fitted beside it (hazards, compound priors,
wear). ``pitwall train`` writes them (``training.artifacts``); loading never fits anything: a
missing artifact is a :class:`ModelsMissingError` that names the command to run.
``RaceModels()`` itself, with no artifact, is the race model on constants, for unit tests and
the simulator's warm-up.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from strategy import hazards
from strategy.circuits import canonical_circuit
from strategy.compounds import COMPOUNDS
from strategy.degradation import DEFAULT_OFFSET, DEFAULT_SLOPE, CompoundPrior
from strategy.hazards import HazardModels
from strategy.laptime import LapTimeModel
from strategy.plan_prior import PlanPrior
from strategy.tyre_life import TyreLife

log = logging.getLogger(__name__)

PASS_DELTA_S = 0.6  # s of pace advantage that gives a 50% pass chance at an average circuit
#: Share of the green-flag pit loss a stop costs under SC / VSC without fitted hazards (a red
#: flag allows a free tyre change in the pit lane).
SC_LOSS_FACTOR = {"sc": 0.45, "vsc": 0.65, "vsc_ending": 0.65, "red": 0.0}

#: s per lap: per-race uncertainty of a car's pace in the Monte Carlo, and s: a clean lap's
#: noise around its expectation, where no spread was learned (``training.spread`` learns both
#: from the lap-time model's errors over the laps ahead)
PACE_SD = 0.04
LAP_NOISE_SD = 0.45
PACE_SHRINK = 0.35  # weight of a car's own pace against the field's in the Monte Carlo
DNF_PER_LAP = 0.0012  # chance a running car retires on a given lap (when history is missing)
#: Seconds a green-flag stop costs where no fitted pit-loss model is at hand.
DEFAULT_PIT_LOSS = 22.0
#: Chances that an SC and a VSC start on a racing lap where no fitted hazard is at hand.
SC_PER_LAP, VSC_PER_LAP = 0.012, 0.01


class ModelsMissingError(FileNotFoundError):
    """No trained artifact in the model directory: ``pitwall train`` writes one."""


@dataclass
class RaceModels:
    """Everything the simulator and the decision engine need, fitted or prior."""

    version: str = "priors"
    laptime: LapTimeModel | None = None
    priors: dict[str, CompoundPrior] = field(default_factory=dict)
    deg_scale: dict[str, float] = field(default_factory=dict)
    #: how long a set of each compound lasts at each circuit (``strategy.tyre_life``); None:
    #: the compounds' default lives
    tyre_life: TyreLife | None = None
    #: what teams ran at each circuit (``strategy.plan_prior``); None: plans on time alone
    plan_prior: PlanPrior | None = None
    metadata: dict = field(default_factory=dict)
    pace_sd: float = PACE_SD
    #: how far win chances and positions lean towards the settled order
    #: (``strategy.settled_order``), by tenth of the race, measured by ``training.win_blend``;
    #: empty: the Monte Carlo's
    win_lean: tuple[float, ...] = ()
    position_lean: tuple[float, ...] = ()
    lap_noise_sd: float = LAP_NOISE_SD
    p_dnf: float = DNF_PER_LAP
    pace_shrink: float = PACE_SHRINK
    #: SC/VSC, retirement, pit-loss, passing and undercut models fitted on history
    #: (``strategy.hazards``); None: the constants above
    fitted: HazardModels | None = None
    #: circuit -> a dry reference lap (fuel-corrected median slick pace at its best lap of
    #: the latest training race there), for a race that starts wet (``strategy.wet``)
    dry_refs: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def key(circuit: str) -> str:
        """The table key of a circuit slug or event name ('saudi-arabia' -> 'saudi-arabian')."""
        return canonical_circuit(circuit)

    def pit_loss(self, circuit: str, status: str = "green") -> float:
        """Median seconds a stop costs at ``circuit`` under ``status`` (green, sc, vsc, red)."""
        if self.fitted is not None:
            return hazards.pit_loss(self.fitted, circuit, status)[0]
        return DEFAULT_PIT_LOSS * SC_LOSS_FACTOR.get(status, 1.0)

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
        return SC_PER_LAP, VSC_PER_LAP

    def knows_circuit(self, circuit: str) -> bool:
        """Whether the fitted pit-loss model has races at ``circuit`` (not only the prior)."""
        return self.fitted is not None and self.key(circuit) in self.fitted.pit_loss.green

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

    def lives(self) -> TyreLife:
        """The tyre-life priors (the compounds' defaults without a fitted table)."""
        return self.tyre_life if self.tyre_life is not None else TyreLife()

    def compound_arrays(self, circuit: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pace offsets and measured wear slopes (at ``circuit``) indexed like ``COMPOUNDS``."""
        scale = self.deg_scale.get(self.key(circuit), 1.0) if circuit else 1.0
        off = [self.priors[c].offset if c in self.priors else DEFAULT_OFFSET[c] for c in COMPOUNDS]
        slope = [self.priors[c].slope if c in self.priors else DEFAULT_SLOPE[c] for c in COMPOUNDS]
        return np.array(off, np.float32), np.array(slope, np.float32) * np.float32(scale)


def models_from_tables(tables: dict, **kw) -> RaceModels:
    """The race models of fitted circuit tables (and ``kw``: the lap-time model, version)."""
    return RaceModels(
        priors={k: CompoundPrior(**v) for k, v in tables["priors"].items()},
        deg_scale={k: float(v) for k, v in tables.get("deg_scale", {}).items()},
        dry_refs={k: float(v) for k, v in tables.get("dry_refs", {}).items()},
        fitted=HazardModels.from_dict(tables["fitted"]) if tables.get("fitted") else None,
        tyre_life=TyreLife.from_dict(tables["tyre_life"]) if tables.get("tyre_life") else None,
        plan_prior=PlanPrior.from_dict(tables["plan_prior"]) if tables.get("plan_prior") else None,
        **_spread(tables.get("spread")),
        **_leans(tables.get("settled_lean")),
        **kw,
    )


def _spread(spread: dict | None) -> dict[str, float]:
    """The Monte Carlo's learned noise (``training.spread``), where the artifact has it."""
    if not spread:
        return {}
    return {"pace_sd": float(spread["pace_sd"]), "lap_noise_sd": float(spread["lap_noise_sd"])}


def _leans(leans: dict | None) -> dict[str, float]:
    """The measured leans towards the settled order, where the artifact has them."""
    if not leans:
        return {}
    return {"win_lean": _tenths(leans["win"]), "position_lean": _tenths(leans["position"])}


def _tenths(weights: float | list[float]) -> tuple[float, ...]:
    """Lean weights by tenth of the race (one weight: the same all race)."""
    return tuple(float(w) for w in weights) if isinstance(weights, list) else (float(weights),)


def latest_artifact(model_dir: Path) -> Path | None:
    """The newest artifact of the current format (older ones, without ``far.txt``, are left)."""
    found = sorted(
        p for p in model_dir.glob("laptime-*") if (p / "metadata.json").exists()
        and (p / "far.txt").exists()
    )  # fmt: skip
    return found[-1] if found else None


def load_models(model_dir: Path) -> RaceModels:
    """The newest trained artifact in ``model_dir``.

    Raises :class:`ModelsMissingError` (naming ``pitwall train``) when there is none.
    """
    folder = latest_artifact(model_dir) if model_dir.exists() else None
    if folder is None:
        raise ModelsMissingError(
            f"no trained race model in {model_dir}: run `pitwall train` (or `make demo`/"
            "`make test`, which train once) or point PITWALL_MODEL_DIR at a model directory"
        )
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
