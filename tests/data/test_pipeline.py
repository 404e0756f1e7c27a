import numpy as np
import pytest

from emoji_t2i.data.pipeline import make_dataset
from emoji_t2i.data.vectorizers import (
    known_word_fraction,
    load_vectorizer,
    make_vectorizer,
    save_vectorizer,
)


def _batches(ds, vec, **kw):
    return list(make_dataset(ds, vec, 16, **kw).as_numpy_iterator())


def test_batch_shapes_dtypes_and_range(tiny, tiny_vectorizer):
    batch = _batches(tiny, tiny_vectorizer, epochs=1)[0]
    assert batch["images"].shape == (16, 72, 72, 4) and batch["images"].dtype == np.float32
    assert -1.0 <= batch["images"].min() and batch["images"].max() <= 1.0
    assert batch["tokens"].shape == (16, 16)
    assert (batch["tokens"] > 1).any(axis=1).all()  # every caption has known words
    assert (batch["wrong_tokens"][1:] == batch["tokens"][:-1]).all()
    assert batch["labels"].shape == (16, 0)


def test_same_seed_same_batches_and_epochs_differ(tiny, tiny_vectorizer):
    a = _batches(tiny, tiny_vectorizer, epochs=2, seed=3)
    b = _batches(tiny, tiny_vectorizer, epochs=2, seed=3)
    c = _batches(tiny, tiny_vectorizer, epochs=2, seed=4)
    assert len(a) == 8
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["images"], y["images"])
        np.testing.assert_array_equal(x["tokens"], y["tokens"])
    assert not np.array_equal(a[0]["images"], c[0]["images"])
    assert not np.array_equal(a[0]["images"], a[4]["images"])  # epoch 1 is reshuffled


def test_resume_from_an_epoch_replays_the_same_batches(tiny, tiny_vectorizer):
    full = _batches(tiny, tiny_vectorizer, epochs=3, seed=1)
    tail = _batches(tiny, tiny_vectorizer, initial_epoch=2, epochs=3, seed=1)
    for x, y in zip(full[8:], tail, strict=True):
        np.testing.assert_array_equal(x["tokens"], y["tokens"])


def test_captions_are_sampled_across_epochs(tiny, tiny_vectorizer):
    seen = {}
    for batch in _batches(tiny, tiny_vectorizer, epochs=12, seed=0):
        for img, tok in zip(batch["images"][:, ::9, ::9, :].reshape(16, -1), batch["tokens"], strict=True):
            seen.setdefault(img.tobytes(), set()).add(tok.tobytes())
    assert np.mean([len(v) for v in seen.values()]) > 1.5


def test_labels_from_a_metadata_field(tiny, tiny_vectorizer):
    vocabs = {f: tiny.label_vocabulary(f) for f in ("subcategory", "identity")}
    batch = _batches(tiny, tiny_vectorizer, epochs=1, label_fields=("subcategory", "identity"),
                     label_vocabularies=vocabs)[0]
    assert batch["labels"].shape == (16, 2) and batch["labels"].min() >= 0
    assert batch["labels"][:, 0].max() < len(vocabs["subcategory"])


def test_noise_and_augment_draws_are_seeded(tiny, tiny_vectorizer):
    a = _batches(tiny, tiny_vectorizer, epochs=1, seed=5, noise_dim=8, augment_params=7)
    b = _batches(tiny, tiny_vectorizer, epochs=1, seed=5, noise_dim=8, augment_params=7)
    assert a[0]["noise"].shape == (16, 8) and a[0]["augment"].shape == (16, 2, 7)
    np.testing.assert_array_equal(a[1]["noise"], b[1]["noise"])
    assert 0.0 <= a[0]["augment"].min() and a[0]["augment"].max() < 1.0
    assert abs(np.concatenate([x["noise"] for x in a]).std() - 1.0) < 0.1


def test_batch_larger_than_data_is_a_clear_error(tiny, tiny_vectorizer):
    with pytest.raises(ValueError, match="lower --batch-size"):
        make_dataset(tiny, tiny_vectorizer, 1000)


@pytest.mark.parametrize("prompt", ["", "zzqx blorf", "웃는 얼굴", "😀🐱", "cat " * 125])
def test_odd_prompts_tokenise(tiny_vectorizer, prompt):
    ids = tiny_vectorizer([prompt]).numpy()
    assert ids.shape == (1, 16) and ids.min() >= 0


def test_vectorizer_round_trip_word_and_char(tmp_path, tiny):
    captions = [c for caps in tiny.captions for c in caps]
    for kind in ("word", "char"):
        vec = make_vectorizer(kind, captions)
        save_vectorizer(vec, tmp_path / f"{kind}.json")
        again = load_vectorizer(tmp_path / f"{kind}.json")
        probe = ["smiling cat face", "웃는 😀", ""]
        np.testing.assert_array_equal(vec(probe).numpy(), again(probe).numpy())
        assert again.kind == kind
    assert known_word_fraction(vec, "") == 0.0


def test_known_word_fraction(tiny_vectorizer):
    assert known_word_fraction(tiny_vectorizer, "smiling face") == 1.0
    assert known_word_fraction(tiny_vectorizer, "smiling zzqx") == 0.5


def test_style_travels_with_each_image(embedded, tiny_vectorizer):
    rows = np.flatnonzero(embedded.split == "train")[::500]
    sample = embedded.take(rows)
    batch = _batches(sample, tiny_vectorizer, epochs=1)[0]
    by_image = {embedded.images[r].tobytes(): embedded.metadata["style"][r] for r in rows}
    from emoji_t2i.data.images import to_uint8

    got = [by_image[to_uint8(image).tobytes()] for image in batch["images"]]
    assert [s.decode() for s in batch["style"]] == got
    assert len(set(got)) >= 3
