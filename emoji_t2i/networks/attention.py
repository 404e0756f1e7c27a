"""AttnGAN's word attention (Xu et al. 2018), weight-free: the generator's regions attend over
the words, and DAMSM's words attend over the image regions. Shapes: words (B, T, D) with a
(B, T) mask of real (non-padding) words; regions (B, R, D)."""

from __future__ import annotations

from keras import ops

NEGATIVE = -1e9


def word_context(queries, words, mask):
    """Each query (a generator region, (B, N, D)) attends over the words: softmax over the
    real words only. Returns (context (B, N, D), weights (B, N, T), rows summing to 1)."""
    scores = ops.matmul(ops.cast(queries, "float32"), ops.transpose(ops.cast(words, "float32"), (0, 2, 1)))
    scores = ops.where(ops.cast(mask, "bool")[:, None, :], scores, NEGATIVE)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, ops.cast(words, "float32")), weights


def region_context(words, regions, mask, gamma1=4.0):
    """DAMSM's attention of every caption's words over every image's regions.

    For caption i and image j (all B x B pairs): s = e_i v_j^T (T x R), normalised over the
    words first (a softmax over the real words for each region), then scaled by ``gamma1``
    and normalised over the regions for each word; c_t = sum_r alpha_tr v_r.
    Returns (contexts (B_text, B_image, T, D), alpha (B_text, B_image, T, R))."""
    words, regions = ops.cast(words, "float32"), ops.cast(regions, "float32")
    scores = ops.einsum("itd,jrd->ijtr", words, regions)
    real = ops.cast(mask, "bool")[:, None, :, None]
    over_words = ops.softmax(ops.where(real, scores, NEGATIVE), axis=2)
    alpha = ops.softmax(gamma1 * over_words, axis=3)
    return ops.einsum("ijtr,jrd->ijtd", alpha, regions), alpha


def paired_region_attention(words, regions, mask, gamma1=4.0):
    """``region_context``'s alpha for caption b and image b only: (B, T, R), each real word's
    attention over the regions of its own image (what the attention figures draw)."""
    scores = ops.einsum("btd,brd->btr", ops.cast(words, "float32"), ops.cast(regions, "float32"))
    over_words = ops.softmax(ops.where(ops.cast(mask, "bool")[:, :, None], scores, NEGATIVE), axis=1)
    return ops.softmax(gamma1 * over_words, axis=2)


def word_match_scores(words, regions, mask, gamma1=4.0, gamma2=5.0):
    """DAMSM's word-level relevance R(Q_i, D_j) for all pairs (B_text, B_image):
    log(sum over real words t of exp(gamma2 cos(c_t, e_t))) / gamma2."""
    contexts, _ = region_context(words, regions, mask, gamma1)
    cosine = ops.sum(ops.normalize(contexts, axis=-1) * ops.normalize(ops.cast(words, "float32"), axis=-1)[:, None],
                     axis=-1)
    real = ops.cast(mask, "bool")[:, None, :]
    scores = ops.logsumexp(ops.where(real, gamma2 * cosine, NEGATIVE), axis=-1) / gamma2
    # a caption with no known word (all padding) matches nothing: 0, not -1e9 / gamma2 (which
    # gave one batch of a DAMSM run a loss of 1e7)
    return ops.where(ops.any(real, axis=-1), scores, 0.0)
