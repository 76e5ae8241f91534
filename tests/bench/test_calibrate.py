"""The calibration refit (``python -m bench.calibrate``): its logistic fit and its error measures."""

from __future__ import annotations

import numpy as np
import pytest

from bench.calibrate import balanced, calibration_error, fit, log_loss


def test_fit_recovers_a_known_curve_and_weighs_the_classes_equally() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(-4, 4, 40_000)
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-(0.5 + 2.0 * x)))).astype(np.float64)
    curve = fit(x, y)
    assert curve.slope == pytest.approx(2.0, rel=0.1)
    # Balanced weights move the intercept by the log of the class ratio, not the slope.
    positives = y.mean()
    shift = np.log(positives / (1 - positives))
    assert curve.intercept == pytest.approx(0.5 - shift, abs=0.15)
    assert balanced(y)[y > 0].sum() == pytest.approx(balanced(y)[y == 0].sum())


def test_a_calibrated_curve_scores_better_than_a_coin() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, 20_000)
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-3 * x))).astype(np.float64)
    curve = fit(x, y)
    p = curve(x)
    assert log_loss(p, y) < 0.5 < np.log(2) == pytest.approx(log_loss(np.full_like(p, 0.5), y))
    assert calibration_error(p, y) < 0.02
