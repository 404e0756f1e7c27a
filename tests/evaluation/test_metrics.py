"""Metric code on cases with known answers."""

import numpy as np
import pytest

from emoji_t2i.evaluation import metrics


def gaussian(n, mean, cov, seed):
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(500, np.zeros(8), np.eye(8), 0)
    assert abs(metrics.fid(x, x)) < 1e-6


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    # diagonal covariances: FID = |mu1-mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_fid_of_sampled_gaussians_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    cov2 = a @ a.T + np.eye(4)
    x = gaussian(20000, np.zeros(4), np.eye(4), 2)
    y = gaussian(20000, np.ones(4), cov2, 3)
    root = np.linalg.eigvalsh(cov2)  # C1 = I, so tr((C1 C2)^1/2) = sum sqrt(eig(C2))
    expected = 4.0 + 4.0 + np.trace(cov2) - 2 * np.sum(np.sqrt(root))
    assert metrics.fid(x, y) == pytest.approx(expected, rel=0.05)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_two():
    x = gaussian(1000, np.zeros(16), np.eye(16), 4)
    y = gaussian(1000, np.zeros(16), np.eye(16), 5)
    z = gaussian(1000, np.full(16, 0.5), np.eye(16), 6)
    same, same_std = metrics.kid(x, y, subsets=40, subset_size=200)
    apart, _ = metrics.kid(x, z, subsets=40, subset_size=200)
    assert abs(same) < 2 * same_std + 1e-3  # unbiased: centred on 0, not on a positive bias
    assert apart > 10 * max(same_std, 1e-4)


def test_inception_score_bounds():
    uniform = np.full((100, 10), 0.1)
    assert metrics.inception_score(uniform, splits=5)[0] == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(100) % 10]  # certain and spread evenly over K = 10
    assert metrics.inception_score(confident, splits=5)[0] == pytest.approx(10.0, rel=1e-6)


def test_r_precision_of_true_pairs_is_high_and_of_shuffled_pairs_is_chance():
    rng = np.random.default_rng(7)
    n, k = 2000, 99
    text = rng.normal(size=(n, 32))
    images = text + 0.3 * rng.normal(size=(n, 32))
    candidates = np.array([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)])
    assert metrics.r_precision(images, text, candidates) > 0.95
    shuffled = images[rng.permutation(n)]
    assert metrics.r_precision(shuffled, text, candidates) == pytest.approx(0.01, abs=0.01)


def test_r_precision_breaks_ties_at_random():
    text = np.ones((3000, 4))
    candidates = np.tile(np.arange(1, 100), (3000, 1)) % 3000
    assert metrics.r_precision(np.ones((3000, 4)), text, candidates) == pytest.approx(0.01, abs=0.006)


def test_nearest_distances_and_pairwise_distance():
    refs = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    dist, index = metrics.nearest_distances(np.array([[3.0, 5.0], [9.0, 0.0]]), refs)
    assert index.tolist() == [1, 2] and dist == pytest.approx([1.0, 1.0])
    assert metrics.mean_pairwise_distance(refs[:2]) == pytest.approx(5.0)
    assert metrics.mean_pairwise_distance(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-6)
