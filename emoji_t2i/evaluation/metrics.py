"""Sample-quality metrics on feature vectors and class posteriors (numpy only, float64).

Every function takes plain arrays so that it can be checked against closed forms: see
tests/evaluation/test_metrics.py.
"""

from __future__ import annotations

import numpy as np


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^1/2).

    tr((C1 C2)^1/2) is computed as tr((C1^1/2 C2 C1^1/2)^1/2): the same eigenvalues, but of a
    symmetric PSD matrix, so no complex parts or scipy are needed.
    """
    root1 = _psd_sqrt(np.asarray(cov1, np.float64))
    middle = _psd_sqrt(root1 @ np.asarray(cov2, np.float64) @ root1)
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(middle))


def fid(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(features_a, features_b, subsets: int = 50, subset_size: int = 200, seed: int = 0):
    """Kernel Inception Distance: the unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / D + 1)^3, averaged over random subsets. Returns (mean, std)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    dim = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((p @ q.T / dim + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off = m * (m - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                      - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def inception_score(posteriors, splits: int = 10):
    """exp(E_x KL(p(y|x) || p(y))) per split; returns (mean, std) over the splits."""
    p = np.asarray(posteriors, np.float64)
    scores = []
    for part in np.array_split(p, max(1, min(splits, len(p)))):
        marginal = part.mean(0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def r_precision_hits(image_embeddings, text_embeddings, candidates, seed: int = 0) -> np.ndarray:
    """AttnGAN's R-precision with R = 1, per image: image i's true caption i is ranked against
    ``candidates.shape[1]`` mismatched captions (row indices into ``text_embeddings``, chosen
    by the caller) by cosine similarity; True where the true caption ranks first. Ties are
    broken at random, so a similarity that ignores the image scores chance."""
    img = _unit(image_embeddings)
    txt = _unit(text_embeddings)
    true = np.sum(img * txt[: len(img)], axis=1)
    wrong = np.einsum("nd,nkd->nk", img, txt[np.asarray(candidates)])
    keys = np.random.default_rng(seed).random((len(img), wrong.shape[1] + 1))  # tie-breakers
    ahead = (wrong > true[:, None]) | ((wrong == true[:, None]) & (keys[:, 1:] > keys[:, :1]))
    return ~ahead.any(1)


def r_precision(image_embeddings, text_embeddings, candidates, seed: int = 0) -> float:
    """The fraction of images whose true caption ranks first (``r_precision_hits``)."""
    return float(np.mean(r_precision_hits(image_embeddings, text_embeddings, candidates, seed)))


def mean_similarity(image_embeddings, text_embeddings) -> float:
    """Mean cosine similarity of aligned (image, caption) pairs."""
    return float(np.mean(np.sum(_unit(image_embeddings) * _unit(text_embeddings), axis=1)))


def nearest_distances(queries, references, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query row to its nearest reference row, and that row."""
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    r = np.asarray(references, np.float32).reshape(len(references), -1)
    r_sq = np.sum(r.astype(np.float64) ** 2, axis=1)
    dist, index = np.empty(len(q)), np.empty(len(q), np.int64)
    for start in range(0, len(q), batch):
        block = q[start:start + batch]
        d2 = np.sum(block.astype(np.float64) ** 2, 1)[:, None] + r_sq[None] - 2.0 * (block @ r.T)
        index[start:start + batch] = np.argmin(d2, 1)
        dist[start:start + batch] = np.sqrt(np.clip(np.min(d2, 1), 0, None))
    return dist, index


def mean_pairwise_distance(features) -> float:
    """Mean Euclidean distance over all unordered pairs of rows (0 for fewer than 2)."""
    f = np.asarray(features, np.float64)
    if len(f) < 2:
        return 0.0
    d2 = np.sum(f**2, 1)[:, None] + np.sum(f**2, 1)[None] - 2 * f @ f.T
    upper = np.triu_indices(len(f), 1)
    return float(np.mean(np.sqrt(np.clip(d2[upper], 0, None))))


def _unit(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
