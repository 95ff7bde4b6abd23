"""The win/podium model: LightGBM and a conditional logit, blended and calibrated per race.

Two learners read the same feature rows (``features.py``):

* a LightGBM binary classifier per target (won, on the podium), whose log-odds become
  per-race chances through a softmax (win) or a capped renormalisation to 3 (podium);
* a conditional logit (McFadden; the race is the choice set, the winner the choice): a
  linear score over a few standardised features, fitted on the winners' likelihood with a
  small ridge penalty.

Podium chances come from the LightGBM podium classifier, from the win chances (Harville), or
the mean of both (``mix``).

``method`` picks one of them or their blend (the mean of their log-chances, renormalised),
or, after qualifying, ``stack``: the pre-qualifying LightGBM's chance (out-of-fold by season
in training) re-weighted by a conditional logit on the grid (log grid-slot rate, qualifying
gap, front row, gap to the team-mate).
The defaults (the blend of a small LightGBM and the conditional logit, podium ``mix``) were
chosen by walk-forward over 2018-2023 only, on the mean win log-loss, for both moments
(``benchmarks/select_winner_model.py``, figures in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize

from prerace.calibration import (
    EPS,
    cap_to_total,
    group_index,
    harville_top_k,
    normalize_by_race,
    softmax_by_race,
)
from prerace.features import features_for

#: Features of the conditional logit per moment (NaN -> the training median).
CLOGIT_PRE = [
    "elo_sum_gap", "elo_driver_gap", "elo_team_gap", "form_points", "form_pos",
    "team_form_best", "circuit_pos", "champ_gap",
]  # fmt: skip
CLOGIT_POST = [*CLOGIT_PRE, "log_grid_win_rate", "quali_gap", "grid", "front_row"]
#: Features of the stacking conditional logit (after qualifying) beside the pre-qualifying
#: LightGBM's out-of-fold log-chance.
STACK_POST = ["log_p_pre", "log_grid_win_rate", "quali_gap", "front_row", "teammate_grid_delta"]
METHODS = ("lgbm", "clogit", "blend", "stack")
PODIUM_METHODS = ("lgbm", "harville", "mix")


@dataclass(frozen=True)
class ModelConfig:
    """How a model is trained (defaults: the choice made on 2022-2023, see module doc)."""

    moment: str = "post"
    method: str = "blend"
    podium: str = "mix"
    train_from: int = 2010
    n_estimators: int = 150
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_child_samples: int = 80
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    reg_lambda: float = 1.0
    ridge: float = 1.0
    blend_weight: float = 0.5  # weight of LightGBM's log-chances in the blend
    half_life: float | None = None  # seasons: older races weigh less (None: all the same)

    def __post_init__(self) -> None:
        features_for(self.moment)  # validates the moment
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if self.podium not in PODIUM_METHODS:
            raise ValueError(f"podium must be one of {PODIUM_METHODS}")

    def lgb_params(self) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.reg_lambda,
            "num_threads": 1,
            "deterministic": True,
            "seed": 7,
            "verbose": -1,
        }


def columns(rows: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The ``names`` columns of ``rows`` as a float matrix, derived ones computed here
    (``log_grid_win_rate``); numpy rather than pandas: prediction is on the request path."""
    out = np.empty((len(rows), len(names)))
    for j, name in enumerate(names):
        if name == "log_grid_win_rate":
            out[:, j] = np.log(np.clip(rows["grid_win_rate"].to_numpy(float), EPS, None))
        else:
            out[:, j] = rows[name].to_numpy(float)
    return out


@dataclass
class ConditionalLogit:
    """Linear per-race softmax over standardised features, ridge-penalised."""

    features: list[str]
    ridge: float = 1.0
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    fill: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beta: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def _matrix(self, rows: pd.DataFrame) -> np.ndarray:
        x = columns(rows, self.features)
        x = np.where(np.isnan(x), self.fill, x)
        return (x - self.center) / self.scale

    def fit(
        self, rows: pd.DataFrame, won: np.ndarray, weight: np.ndarray | None = None
    ) -> ConditionalLogit:
        raw = columns(rows, self.features)
        with warnings.catch_warnings():  # a column without any value yet fills with 0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.fill = np.nan_to_num(np.nanmedian(raw, axis=0))
        x = np.where(np.isnan(raw), self.fill, raw)
        self.center, self.scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        x = (x - self.center) / self.scale
        codes, _ = group_index(rows["race_id"].to_numpy())
        win = won.astype(bool)
        has_winner = np.bincount(codes, weights=win.astype(float)) > 0
        keep = has_winner[codes]
        w = np.ones(len(rows)) if weight is None else np.asarray(weight, float)
        x, codes, win, w = x[keep], group_index(codes[keep])[0], win[keep], w[keep]
        n_groups = codes.max() + 1
        race_w = np.zeros(n_groups)
        race_w[codes] = w  # one weight per race

        def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
            s = x @ beta
            top = np.full(n_groups, -np.inf)
            np.maximum.at(top, codes, s)
            e = np.exp(s - top[codes])
            z = np.bincount(codes, weights=e, minlength=n_groups)
            p = e / z[codes]
            gw = race_w[codes]
            ll = (race_w[codes[win]] * (s[win] - top[codes[win]] - np.log(z[codes[win]]))).sum()
            grad = (gw[win, None] * x[win]).sum(axis=0) - ((gw * p)[:, None] * x).sum(axis=0)
            return -ll + 0.5 * self.ridge * beta @ beta, -grad + self.ridge * beta

        res = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
        self.beta = res.x
        return self

    def scores(self, rows: pd.DataFrame) -> np.ndarray:
        return self._matrix(rows) @ self.beta


@dataclass
class WinnerModel:
    """A trained model of one moment; ``predict`` gives per-race win and podium chances."""

    config: ModelConfig
    win_booster: lgb.Booster | None = None
    podium_booster: lgb.Booster | None = None
    clogit: ConditionalLogit | None = None
    pre_booster: lgb.Booster | None = None
    trained_races: int = 0
    last_race_id: int | None = None

    @property
    def features(self) -> list[str]:
        return features_for(self.config.moment)

    def fit(self, rows: pd.DataFrame) -> WinnerModel:
        """Train on rows with targets (``win``, ``podium``) from ``train_from`` on."""
        cfg = self.config
        train = rows[(rows["season"] >= cfg.train_from) & rows["win"].notna()]
        if cfg.moment == "post":
            train = train[train["grid_known"].astype(bool)]
        if train.empty:
            raise ValueError("no finished race to train on")
        self.trained_races = int(train["race_id"].nunique())
        order = train.sort_values(["season", "round"])
        self.last_race_id = int(order["race_id"].iloc[-1])
        x = train[self.features]
        weight = None
        if cfg.half_life:
            age = train["season"].max() - train["season"].to_numpy(float)
            weight = 0.5 ** (age / cfg.half_life)
        if cfg.method in ("lgbm", "blend"):
            self.win_booster = lgb.train(
                cfg.lgb_params(), lgb.Dataset(x, train["win"], weight=weight), cfg.n_estimators
            )
        if cfg.method in ("lgbm", "blend", "stack") or cfg.podium in ("lgbm", "mix"):
            self.podium_booster = lgb.train(
                cfg.lgb_params(),
                lgb.Dataset(x, train["podium"], weight=weight),
                cfg.n_estimators,
            )
        if cfg.method in ("clogit", "blend"):
            cols = CLOGIT_PRE if cfg.moment == "pre" else CLOGIT_POST
            self.clogit = ConditionalLogit(cols, cfg.ridge).fit(
                train, train["win"].to_numpy(), weight
            )
        if cfg.method == "stack":
            self._fit_stack(train)
        return self

    def _fit_stack(self, train: pd.DataFrame) -> None:
        """Pre-qualifying LightGBM (out-of-fold by season) + conditional logit on the grid."""
        if self.config.moment != "post":
            raise ValueError("stack is the after-qualifying method")
        pre = features_for("pre")
        params = self.config.lgb_params()
        oof = np.zeros(len(train))
        seasons = train["season"].to_numpy()
        for season in np.unique(seasons):
            fold = seasons == season
            if (~fold).sum() == 0:
                continue
            booster = lgb.train(
                params,
                lgb.Dataset(train.loc[~fold, pre], train.loc[~fold, "win"]),
                self.config.n_estimators,
            )
            oof[fold] = booster.predict(train.loc[fold, pre], raw_score=True)
        self.pre_booster = lgb.train(
            params, lgb.Dataset(train[pre], train["win"]), self.config.n_estimators
        )
        groups = train["race_id"].to_numpy()
        stacked = train.assign(log_p_pre=np.log(softmax_by_race(oof, groups)))
        self.clogit = ConditionalLogit(STACK_POST, self.config.ridge).fit(
            stacked, train["win"].to_numpy()
        )

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``race_id``, ``driver_id``, ``p_win`` (sums to 1 per race), ``p_podium`` (to 3)."""
        cfg = self.config
        groups = rows["race_id"].to_numpy()
        x = columns(rows, self.features)
        if self.pre_booster is not None and self.clogit is not None:
            pre = columns(rows, features_for("pre"))
            raw = self.pre_booster.predict(pre, raw_score=True, num_threads=1)
            rows = rows.assign(log_p_pre=np.log(softmax_by_race(raw, groups)))
        log_parts = []
        if self.win_booster is not None:
            raw = self.win_booster.predict(x, raw_score=True, num_threads=1)
            log_parts.append((cfg.blend_weight, np.log(softmax_by_race(raw, groups))))
        if self.clogit is not None:
            log_parts.append(
                (1 - cfg.blend_weight, np.log(softmax_by_race(self.clogit.scores(rows), groups)))
            )
        if len(log_parts) == 1:
            p_win = np.exp(log_parts[0][1])
        else:
            total = sum(w for w, _ in log_parts)
            p_win = softmax_by_race(sum(w * lp for w, lp in log_parts) / total, groups)
        harville = harville_top_k(p_win, groups, 3)
        if cfg.podium in ("lgbm", "mix") and self.podium_booster is not None:
            q = self.podium_booster.predict(x, num_threads=1)
            q = normalize_by_race(q, groups, 3.0)
            p_podium = (q + harville) / 2 if cfg.podium == "mix" else q
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

    @property
    def version(self) -> str:
        """Changes with the configuration and the races trained on (same data -> same id)."""
        payload = json.dumps(
            {**asdict(self.config), "races": self.trained_races, "last": self.last_race_id},
            sort_keys=True,
        )
        digest = hashlib.sha1(payload.encode()).hexdigest()[:10]
        return f"winner-{self.config.moment}-{digest}"
