"""The win/podium model: a baseline it contains, and the adjustment the other features justify.

Each moment starts from a baseline's chances (``baselines.py``): after qualifying the grid
slot's historical win rate, before it the rate of the driver's place in the championship
(last season's at the opener). The model is a conditional logit (McFadden: the race is the
choice set, the winner the choice) whose score is the baseline's log-chance plus a linear
adjustment over a few standardised features:

    p_i  proportional to  base_i * exp(x_i . beta)

With ``beta = 0`` it *is* the baseline. ``beta`` has a Gaussian prior centred on 0 (a ridge
penalty of ``ridge`` per standardised feature), so where the races trained on say little the
chances stay on the baseline's; a missing feature (a rookie's form) counts as the training
mean, which adds nothing. The log baseline is itself a feature, so the model may sharpen or
flatten the baseline (at Monaco the grid decides more: ``log_base x circuit_pole_win``).

The fit uses the first ``ranks`` places of each race (a rank-ordered, "exploded" logit: the
winner among all, then the second among the rest, ...), later places weighted by
``place_weight``: three outcomes per race instead of one, which steadies ``beta``.

Podium chances are the Harville (Plackett-Luce) top-3 chances of the same scores, mixed with
a residual binary logit on the podium (offset: the baseline's podium rate), renormalised to
3 per race and kept at or above each driver's win chance (``podium``: harville, logit, mix).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from prerace.calibration import cap_to_total, harville_top_k, softmax_by_race
from prerace.features import FeatureConfig, features_for
from prerace.residual import BinaryResidual, ResidualLogit, design

#: The baseline's win and podium rate columns per moment (``baselines.py``).
BASE = {"post": ("grid_win_rate", "grid_podium_rate"), "pre": ("standing_win_rate",
        "standing_podium_rate")}  # fmt: skip
#: The adjustment's features per moment (``residual.design`` names; NaN -> training mean).
ADJUST = {
    "pre": [
        "log_base", "log_team_standing_win_rate", "elo_driver_gap", "elo_team_gap",
        "elo_sum_gap", "champ_gap", "team_quali_gap", "drv_quali_gap", "team_quali_share",
        "drv_quali_share", "team_finish_share", "drv_finish_share", "drv_points_share",
        "circuit_pos",
    ],
    "post": [
        "log_base", "pole", "log_base_x_pole", "elo_driver_gap", "elo_team_gap",
        "team_quali_gap", "quali_gap", "teammate_grid_delta", "drv_points_share",
        "team_points_share",
    ],
}  # fmt: skip
#: Places fitted per race (``ranks``) and the podium's method, per moment.
RANKS = {"pre": 1, "post": 2}
PODIUM = {"pre": "mix", "post": "mix"}
PODIUM_METHODS = ("harville", "logit", "mix")


@dataclass(frozen=True)
class ModelConfig:
    """How a model is trained (defaults chosen on 2014-2022, ``benchmarks/RESULTS.md``)."""

    moment: str = "post"
    train_from: int = 2003
    ridge: float = 3.0
    ranks: int | None = None  # None: RANKS[moment]
    place_weight: float = 0.5
    podium: str | None = None  # None: PODIUM[moment]
    half_life: float | None = None  # seasons: older races weigh less (None: all the same)
    adjust: tuple[str, ...] | None = None  # None: ADJUST[moment]
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        features_for(self.moment)  # validates the moment
        if self.podium_method not in PODIUM_METHODS:
            raise ValueError(f"podium must be one of {PODIUM_METHODS}")
        if not 1 <= self.places <= 3:
            raise ValueError("ranks must be 1, 2 or 3")
        known = set(features_for(self.moment)) | {"log_base"}
        if self.moment == "post":
            known |= {"pole", "log_base_x_pole"}
        unknown = [
            c for c in self.columns if c not in known and c.removeprefix("log_") not in known
        ]
        if unknown:
            # before qualifying nothing of the grid may be read: the rows of a race run hold it
            raise ValueError(f"{unknown} are not known {self.moment}-qualifying")

    @property
    def places(self) -> int:
        return self.ranks if self.ranks is not None else RANKS[self.moment]

    @property
    def podium_method(self) -> str:
        return self.podium if self.podium is not None else PODIUM[self.moment]

    @property
    def columns(self) -> list[str]:
        return list(self.adjust) if self.adjust is not None else ADJUST[self.moment]


def baseline_rates(rows: pd.DataFrame, moment: str) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's win and podium rates of each row (not yet renormalised per race)."""
    win, podium = BASE[moment]
    return rows[win].to_numpy(float), rows[podium].to_numpy(float)


@dataclass
class WinnerModel:
    """A trained model of one moment; ``predict`` gives per-race win and podium chances."""

    config: ModelConfig
    win: ResidualLogit | None = None
    podium_logit: BinaryResidual | None = None
    trained_races: int = 0
    last_race_id: int | None = None

    def fit(self, rows: pd.DataFrame) -> WinnerModel:
        """Train on rows with targets (``position``) from ``train_from`` on."""
        cfg = self.config
        train = rows[(rows["season"] >= cfg.train_from) & rows["win"].notna()]
        if cfg.moment == "post":
            train = train[train["grid_known"].astype(bool)]
        if train.empty:
            raise ValueError("no finished race to train on")
        self.trained_races = int(train["race_id"].nunique())
        order = train.sort_values(["season", "round"])
        self.last_race_id = int(order["race_id"].iloc[-1])
        weight = None
        if cfg.half_life:
            age = train["season"].max() - train["season"].to_numpy(float)
            weight = 0.5 ** (age / cfg.half_life)
        base_win, base_pod = baseline_rates(train, cfg.moment)
        x = design(train, cfg.columns, base_win)
        self.win = ResidualLogit(cfg.columns, cfg.ridge).fit(
            x,
            np.log(np.clip(base_win, 1e-6, None)),
            train["race_id"].to_numpy(),
            train["position"].to_numpy(float),
            weight,
            ranks=cfg.places,
            place_weight=cfg.place_weight,
        )
        if cfg.podium_method in ("logit", "mix"):
            self.podium_logit = BinaryResidual(cfg.ridge).fit(
                x, base_pod, train["podium"].to_numpy(float), weight
            )
        return self

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``race_id``, ``driver_id``, ``p_win`` (sums to 1 per race), ``p_podium`` (to 3)."""
        if self.win is None:
            raise ValueError("the model is not trained")
        cfg = self.config
        groups = rows["race_id"].to_numpy()
        base_win, base_pod = baseline_rates(rows, cfg.moment)
        x = design(rows, cfg.columns, base_win)
        score = np.log(np.clip(base_win, 1e-6, None)) + self.win.adjustment(x)
        p_win = softmax_by_race(score, groups)
        harville = harville_top_k(p_win, groups, 3)
        if self.podium_logit is not None:
            q = cap_to_total(self.podium_logit.chances(x, base_pod), groups, 3.0)
            p_podium = q if cfg.podium_method == "logit" else (q + harville) / 2
        else:
            p_podium = harville
        # coherent chances: a podium at least as likely as a win, 3 places per race
        p_podium = cap_to_total(p_podium, groups, 3.0, floor=p_win)
        return pd.DataFrame(
            {
                "race_id": groups,
                "driver_id": rows["driver_id"].to_numpy(),
                "p_win": p_win,
                "p_podium": p_podium,
            }
        )

    def coefficients(self) -> dict[str, float]:
        """The adjustment's coefficients per standardised feature (0: the baseline's)."""
        if self.win is None:
            return {}
        return dict(zip(self.win.names, self.win.beta.round(4).tolist(), strict=True))

    @property
    def version(self) -> str:
        """Changes with the configuration and the races trained on (same data -> same id)."""
        payload = json.dumps(
            {**asdict(self.config), "races": self.trained_races, "last": self.last_race_id},
            sort_keys=True,
        )
        digest = hashlib.sha1(payload.encode()).hexdigest()[:10]
        return f"winner-{self.config.moment}-{digest}"
