"""The reliability / ECE helper and the JSON logistic model, on hand-made and known numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from strategy.calibration import (
    bootstrap_difference,
    brier,
    expected_calibration_error,
    log_loss,
    reliability,
)
from strategy.hazards.logistic import Calibrator, Logistic
from training.hazards.logistic import fit_calibrator, fit_logistic


def test_scores_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.99, 500)
    y = (rng.uniform(size=500) < p).astype(float)
    assert brier(p, y) == pytest.approx(brier_score_loss(y, p))
    assert log_loss(p, y) == pytest.approx(sk_log_loss(y, p))


def test_reliability_bins_by_hand() -> None:
    # Bin 0.0-0.5: forecasts 0.2, 0.2, 0.4 (mean 0.267), outcomes 0, 1, 1 (0.667).
    # Bin 0.5-1.0: forecasts 0.8, 1.0 (mean 0.9), outcomes 1, 1.
    p = [0.2, 0.2, 0.4, 0.8, 1.0]
    y = [0, 1, 1, 1, 1]
    r = reliability(p, y, n_bins=2)
    assert [(b.lo, b.hi, b.n) for b in r.bins] == [(0.0, 0.5, 3), (0.5, 1.0, 2)]
    assert r.bins[0].predicted == pytest.approx(0.8 / 3)
    assert r.bins[0].observed == pytest.approx(2 / 3)
    assert r.bins[1].observed == 1.0
    expected = 3 / 5 * abs(0.8 / 3 - 2 / 3) + 2 / 5 * abs(0.9 - 1.0)
    assert r.ece == pytest.approx(expected)
    assert expected_calibration_error(p, y, n_bins=2) == pytest.approx(expected)
    assert r.base_rate == pytest.approx(0.8)
    json.dumps(r.to_dict())  # plain JSON for reports


def test_weights_stand_for_repeated_rows() -> None:
    # 3 events in 10 trials at 0.25 and 1 in 4 at 0.5, as weighted rows and as single rows.
    p_w, y_w, w = [0.25, 0.25, 0.5, 0.5], [1, 0, 1, 0], [3, 7, 1, 3]
    p_x = [0.25] * 10 + [0.5] * 4
    y_x = [1] * 3 + [0] * 7 + [1] + [0] * 3
    a, b = reliability(p_w, y_w, w, n_bins=4), reliability(p_x, y_x, n_bins=4)
    assert (a.ece, a.brier, a.log_loss) == pytest.approx((b.ece, b.brier, b.log_loss))


def test_perfect_calibration_has_small_ece_and_a_biased_forecast_does_not() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=20000) < p).astype(float)
    assert reliability(p, y).ece < 0.02
    assert reliability(np.clip(p + 0.2, 0, 1), y).ece > 0.1


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="forecasts but"):
        reliability([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="probabilities"):
        brier([1.5], [1])
    with pytest.raises(ValueError, match="strategy"):
        reliability([0.1], [1], strategy="bogus")


def test_quantile_bins_hold_equal_counts() -> None:
    p = np.linspace(0.01, 0.2, 100)  # all in the first uniform bin
    r = reliability(p, np.zeros(100), n_bins=4, strategy="quantile")
    assert len(r.bins) == 4 and all(b.n == 25 for b in r.bins)


def test_logistic_one_row_matches_many_and_survives_json() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(0.5 + 2 * x[:, 0] - x[:, 1])))).astype(float)
    m = fit_logistic(x, y, ["a", "b"], C=10.0)
    assert m.coef[0] > 0 > m.coef[1]
    back = Logistic.from_dict(json.loads(json.dumps(m.to_dict())))
    for row in x[:5]:
        assert back.prob_one(*row) == pytest.approx(float(m.prob(row[None, :])[0]))
    # Outside the training range the inputs are clipped: no extrapolation.
    assert m.prob_one(1e6, 0.0) == pytest.approx(m.prob_one(float(x[:, 0].max()), 0.0))


@pytest.mark.parametrize("kind", ["platt", "isotonic", "identity"])
def test_calibrators_one_and_many_agree(kind: str) -> None:
    rng = np.random.default_rng(5)
    raw = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < raw**2).astype(float)  # raw forecasts too high
    cal = fit_calibrator(raw, y, kind)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    probe = np.array([0.0, 0.05, 0.3, 0.5, 0.77, 1.0])
    assert [back.one(float(v)) for v in probe] == pytest.approx(list(cal(probe)))
    if kind != "identity":
        before = reliability(raw, y).ece
        assert reliability(cal(raw), y).ece < before / 2
        assert math.isclose(cal.one(0.5), float(cal(np.array([0.5]))[0]))


def test_bootstrap_difference_over_races() -> None:
    rng = np.random.default_rng(11)
    truth = rng.uniform(0.1, 0.9, 2000)
    y = (rng.uniform(size=2000) < truth).astype(float)
    races = np.repeat(np.arange(40), 50)
    diff, lo, hi = bootstrap_difference(truth, np.full(2000, 0.5), y, races)
    assert diff == pytest.approx(log_loss(np.full(2000, 0.5), y) - log_loss(truth, y))
    assert 0 < lo < diff < hi  # the true chances beat a coin, beyond the races' luck
    same = bootstrap_difference(truth, truth, y, races)
    assert same == pytest.approx((0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="groups"):
        bootstrap_difference(truth, truth, y, races[:10])
