"""Fitted, state-aware hazards and rates for the race model, each learned from history.

- ``sc_vsc_probability``: the chance that an SC or a VSC starts on a lap, from lap 1, the
  circuit, the share of the field on intermediates/wets and recent yellow flags;
- ``dnf_probability``: the chance that a running car retires on a lap, from lap 1, the
  circuit and its team's reliability;
- ``pit_loss``: median and spread of a stop's time loss per circuit, green, SC or VSC;
- ``undercut_probability`` / ``overcut_probability``: calibrated chances that an undercut
  (pit before the car ahead) or an overcut (stay out when the car ahead pits) works;

``HazardModels`` holds the fitted numbers as plain JSON (``to_dict``/``from_dict``) for the
model artifact; ``training.hazards.fit_hazards`` fits them all from lap and Ergast tables. The
prediction functions are pure Python over those numbers (microseconds a call: the decision
engine calls them for every car on every lap). How each model is built and chosen is in its
fitting module's docstring (``training.hazards``); ``training.hazards.evaluate`` sets each
beside its baselines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from strategy.circuits import canonical_circuit
from strategy.compounds import DRY
from strategy.hazards.neutralisations import LapHazard
from strategy.hazards.pit_loss import PitLossModel
from strategy.hazards.rates import ShrunkRates
from strategy.hazards.retirements import RetirementModel
from strategy.hazards.undercut import HARDNESS, SuccessModel

__all__ = [
    "HazardModels",
    "compound_delta",
    "dnf_probability",
    "overcut_probability",
    "pit_loss",
    "pit_out_share",
    "sc_vsc_probability",
    "undercut_probability",
    "yellow_window",
]

#: The race model's track statuses -> the pit-loss status they stand for.
PIT_STATUS = {"green": "green", "yellow": "green", "sc": "sc", "vsc": "vsc", "vsc_ending": "vsc"}


@lru_cache(maxsize=512)
def _key(circuit: str) -> str:
    return canonical_circuit(circuit)


@dataclass
class HazardModels:
    """Every fitted hazard and rate, as plain numbers."""

    sc: LapHazard
    vsc: LapHazard
    retirement: RetirementModel
    pit_loss: PitLossModel
    passing: ShrunkRates
    undercut: SuccessModel | None = None
    overcut: SuccessModel | None = None
    seasons: list[int] = field(default_factory=list)

    @cached_property
    def _circuit_values(self) -> dict[str, tuple[float, float]]:
        """Per circuit name: its green pit loss and passing log-ratio (undercut features)."""
        return {}

    def to_dict(self) -> dict:
        return {
            "seasons": self.seasons,
            "sc": self.sc.to_dict(),
            "vsc": self.vsc.to_dict(),
            "retirement": self.retirement.to_dict(),
            "pit_loss": self.pit_loss.to_dict(),
            "passing": self.passing.to_dict(),
            "undercut": self.undercut.to_dict() if self.undercut else None,
            "overcut": self.overcut.to_dict() if self.overcut else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> HazardModels:
        return cls(
            sc=LapHazard.from_dict(d["sc"]),
            vsc=LapHazard.from_dict(d["vsc"]),
            retirement=RetirementModel.from_dict(d["retirement"]),
            pit_loss=PitLossModel.from_dict(d["pit_loss"]),
            passing=ShrunkRates.from_dict(d["passing"]),
            undercut=SuccessModel.from_dict(d["undercut"]) if d.get("undercut") else None,
            overcut=SuccessModel.from_dict(d["overcut"]) if d.get("overcut") else None,
            seasons=list(d.get("seasons", [])),
        )


def yellow_window(models: HazardModels) -> int:
    """Leader laps over which ``sc_vsc_probability`` counts ``recent_yellows``."""
    return models.sc.window


def sc_vsc_probability(
    models: HazardModels,
    circuit: str,
    lap: int,
    wet_share: float,
    recent_yellows: float,
    recent_neutralisation: bool = False,
) -> tuple[float, float]:
    """(P(an SC starts on ``lap``), P(a VSC starts on it)), none running at its start.

    ``wet_share``: share of the field on intermediates or wets on the lap before (lap 1: on
    the grid); ``recent_yellows``: how many of the last ``yellow_window(models)`` leader laps
    saw a yellow flag; ``recent_neutralisation``: an SC, VSC or red flag ran in one of the
    last two leader laps.
    """
    c = _key(circuit)
    p_sc = models.sc.prob(c, lap, wet_share, recent_yellows, recent_neutralisation)
    p_vsc = models.vsc.prob(c, lap, wet_share, recent_yellows, recent_neutralisation)
    return p_sc, p_vsc


def dnf_probability(models: HazardModels, team: str | None, circuit: str, lap: int) -> float:
    """P(a running car of ``team`` retires on ``lap``) at ``circuit``; ``team`` as the live
    feed names it ("Red Bull Racing") or as Ergast does ("red_bull", "Red Bull")."""
    return models.retirement.prob(team, _key(circuit), lap)


def pit_loss(models: HazardModels, circuit: str, status: str = "green") -> tuple[float, float]:
    """(median, sd) in seconds of a stop's time loss at ``circuit`` under ``status`` (the race
    model's track status: green, yellow, sc, vsc, vsc_ending; red: a free tyre change)."""
    if status == "red":
        return 0.0, 0.0
    return models.pit_loss.distribution(_key(circuit), PIT_STATUS.get(status, "green"))


def pit_out_share(models: HazardModels, circuit: str) -> float:
    """Share of a green stop's loss at ``circuit`` that falls after the line, on the out-lap."""
    return models.pit_loss.remaining_after_in_lap(_key(circuit))


def compound_delta(stayer_compound: str, new_compound: str) -> float:
    """Hardness of the staying car's compound minus that of the set fitted (SOFT 0, MEDIUM 1,
    HARD 2): positive when the stopping car goes onto a softer tyre. 0 off dry tyres."""
    if stayer_compound not in DRY or new_compound not in DRY:
        return 0.0
    return float(HARDNESS[stayer_compound] - HARDNESS[new_compound])


def _move(
    model: SuccessModel | None,
    models: HazardModels,
    gap: float,
    age_delta: float,
    compound_delta: float,
    pace_delta: float,
    circuit: str,
) -> float:
    if model is None:
        raise ValueError("no fitted model for this kind of attempt")
    circuit_values = models._circuit_values.get(circuit)
    if circuit_values is None:
        c = _key(circuit)
        circuit_values = (models.pit_loss.distribution(c)[0], models.passing.log_ratio(c))
        models._circuit_values[circuit] = circuit_values
    values = {
        "gap": gap,
        "age_delta": age_delta,
        "compound_delta": compound_delta,
        "pace_delta": pace_delta,
        "pit_loss": circuit_values[0],
        "passing": circuit_values[1],
    }
    return model.prob(*[values[f] for f in model.features])


def undercut_probability(
    models: HazardModels,
    gap: float,
    age_delta: float,
    compound_delta: float,
    pace_delta: float,
    circuit: str,
) -> float:
    """P(a car that pits now is ahead of the car in front once both have stopped), that car
    staying out for now. ``gap``: s to it at the line; ``age_delta``: its tyre age minus the age
    of the set fitted (laps; 0 for new); ``compound_delta``: ``compound_delta(its compound,
    fitted compound)``; ``pace_delta``: the pitting car's recent pace minus its (s/lap)."""
    return _move(models.undercut, models, gap, age_delta, compound_delta, pace_delta, circuit)


def overcut_probability(
    models: HazardModels,
    gap: float,
    age_delta: float,
    compound_delta: float,
    pace_delta: float,
    circuit: str,
) -> float:
    """P(a car that stays out when the car directly ahead pits is ahead of it once both have
    stopped). ``gap``: s behind it at the line; ``age_delta``: the staying car's tyre age minus
    that of the set the other fits; ``compound_delta``: ``compound_delta(staying car's
    compound, the other's new compound)``; ``pace_delta``: the staying car's recent pace minus
    the other's (s/lap)."""
    return _move(models.overcut, models, gap, age_delta, compound_delta, pace_delta, circuit)
