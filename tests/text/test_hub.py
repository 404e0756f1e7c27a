"""``text_encoder=hub:PATH``: a TF Hub / SavedModel sentence encoder, tested offline on the
project's own minilm exported in that format (strings in, (batch, 384) floats out)."""

import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.text.hub import CodepointTokenizer, HubSentenceEncoder, codepoints_to_strings


def test_codepoints_round_trip_any_prompt():
    prompts = ["crying cat", "thumbs up: dark skin tone", "café ☕ 😺", "", "x" * 300]
    ids = CodepointTokenizer(64)(prompts)
    assert ids.shape == (5, 64)
    back = [s.decode("utf-8") for s in codepoints_to_strings(ids).numpy()]
    assert back == [p[:64] for p in prompts]


def test_hub_encoder_gives_the_modules_embedding(hub_encoder_dir):
    from emoji_t2i.text.minilm import shared_minilm
    from emoji_t2i.text.tokenizers import make_tokenizer

    prompts = ["crying cat", "red heart", ""]
    encoder = HubSentenceEncoder(str(hub_encoder_dir))
    assert encoder.output_dim == 384 and not encoder.trainable_weights
    got = encoder(CodepointTokenizer()(prompts))["pooled"].numpy()
    want = shared_minilm()(make_tokenizer("wordpiece")(prompts))["pooled"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_folder_without_an_encoder_is_one_clear_line(tmp_path):
    with pytest.raises(UsageError, match=r"hub:.*cannot load a sentence encoder there"):
        HubSentenceEncoder(str(tmp_path))
