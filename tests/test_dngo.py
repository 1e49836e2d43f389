"""DNGO (nasgen.search.dngo): Bayesian linear regression against the closed-form Gaussian posterior, the
marginal likelihood recovering a known noise level, DNGO on a 1-D function, and expected improvement."""

import numpy as np
import pytest
from scipy.stats import norm

from nasgen.errors import NasgenError
from nasgen.search.config import DNGOConfig
from nasgen.search.dngo import DNGO, BayesianLinearRegression, expected_improvement


def test_blr_predictive_equals_the_gaussian_process_with_its_kernel():
    rng = np.random.default_rng(0)
    phi, y, phi_star = rng.normal(size=(20, 4)), rng.normal(size=20), rng.normal(size=(5, 4))
    alpha, beta = 2.0, 5.0
    mean, var = BayesianLinearRegression().fit(phi, y, alpha, beta).predict(phi_star)
    k = phi @ phi.T / alpha + np.eye(20) / beta  # the same model, written as a GP over the 20 observations
    k_star = phi_star @ phi.T / alpha
    gp_mean = k_star @ np.linalg.solve(k, y)
    gp_var = np.diag(phi_star @ phi_star.T / alpha - k_star @ np.linalg.solve(k, k_star.T)) + 1 / beta
    assert np.allclose(mean, gp_mean) and np.allclose(var, gp_var)


def test_blr_log_marginal_likelihood_is_the_gaussian_density_of_y():
    rng = np.random.default_rng(1)
    phi, y = rng.normal(size=(15, 3)), rng.normal(size=15)
    blr = BayesianLinearRegression().fit(phi, y, 1.0, 1.0)
    cov = phi @ phi.T / 0.7 + np.eye(15) / 3.0
    sign, logdet = np.linalg.slogdet(cov)
    expected = -0.5 * (y @ np.linalg.solve(cov, y) + logdet + 15 * np.log(2 * np.pi))
    assert blr.log_marginal_likelihood(0.7, 3.0) == pytest.approx(expected)


def test_marginal_likelihood_recovers_the_noise_of_a_line():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, 4000)
    y = 2 * x + 1 + rng.normal(0, 0.3, x.size)
    blr = BayesianLinearRegression().fit(np.column_stack([x, np.ones_like(x)]), y)
    assert 1 / np.sqrt(blr.beta) == pytest.approx(0.3, rel=0.05)
    assert blr.m == pytest.approx([2, 1], abs=0.03)


def test_dngo_fits_a_sine_and_is_less_certain_away_from_the_data():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 3, 40)[:, None]
    y = np.sin(2 * x[:, 0])
    model = DNGO(DNGOConfig(hidden=50, epochs=300, normalize_output=True), seed=0).fit(x, y)
    inside = np.linspace(0.3, 2.7, 9)[:, None]
    mean, std = model.predict(inside)
    assert np.abs(mean - np.sin(2 * inside[:, 0])).max() < 0.15
    _, far = model.predict(np.array([[8.0]]))
    assert far[0] > 3 * std.mean()


def test_dngo_needs_two_observations():
    with pytest.raises(NasgenError, match="at least 2"):
        DNGO(DNGOConfig()).fit(np.zeros((1, 3)), np.zeros(1))


def test_expected_improvement_closed_form_and_limits():
    assert expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0] == pytest.approx(norm.pdf(0))
    mean, std = np.array([1.0, 2.0]), np.array([1e-9, 1e-9])
    assert expected_improvement(mean, std, 1.5) == pytest.approx([0.0, 0.5])  # no spread: max(μ − best, 0)
    assert (
        expected_improvement(np.array([0.5]), np.array([2.0]), 1.0)[0]
        > expected_improvement(np.array([0.5]), np.array([0.5]), 1.0)[0]
    )  # below the best, more spread means more chance to improve
