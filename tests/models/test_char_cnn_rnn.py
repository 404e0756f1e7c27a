"""The char-CNN-RNN encoder and its contrastive pretraining model."""

import keras
import numpy as np

from emoji_t2i.text import TextEncoder
from tests.harness import fit_steps, tiny_batch, tiny_model


def test_encoder_reads_characters_into_a_fixed_code():
    encoder = TextEncoder("char_cnn_rnn", vocabulary_size=40, output_dim=12, embedding_dim=8)
    tokens = np.random.default_rng(0).integers(2, 40, (3, 64))
    tokens[0, 10:] = 0
    code = np.asarray(encoder(tokens))
    assert code.shape == (3, 12) and np.isfinite(code).all()
    assert not np.allclose(code[0], code[1])


def test_contrastive_training_pulls_matching_pairs_together():
    """On a fixed batch of 8 distinct pairs, 30 steps make each caption pick its own image."""
    keras.utils.set_random_seed(0)
    model = tiny_model("char_cnn_rnn")
    batch = tiny_batch(model, 8)
    batch["labels"] = np.arange(8, dtype="int32")[:, None] % 5  # two pairs share an identity
    before = np.asarray(model([batch["images"], batch["tokens"]]))
    logs = fit_steps(model, batch, steps=30)
    after = np.asarray(model([batch["images"], batch["tokens"]]))
    assert np.trace(after) / 8 > np.trace(before) / 8 + 0.1
    assert logs["text_to_image_top1"] > 0.5


def test_identity_mates_are_not_negatives():
    """A caption scoring high on another image of ITS OWN emoji is not penalised; on another
    emoji's image it is."""
    model = tiny_model("char_cnn_rnn")
    sims = np.eye(4, dtype="float32") * 0.5
    sims[0, 1] = 0.9
    mates = np.array([[0], [0], [1], [2]], "int32")
    strangers = np.array([[0], [1], [2], [3]], "int32")
    with_mate = np.asarray(model.pair_losses(sims, mates)[0])
    with_stranger = np.asarray(model.pair_losses(sims, strangers)[0])
    baseline = sims.copy()
    baseline[0, 1] = 0.0
    masked_out = np.asarray(model.pair_losses(baseline, mates)[0])
    np.testing.assert_allclose(with_mate, masked_out, rtol=1e-6)
    assert with_stranger[0] > with_mate[0] + 0.5
