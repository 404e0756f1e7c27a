"""A generator trained, sampled and exported on ``text_encoder=hub:PATH`` (the fixture saves the
project's minilm in the TF Hub / SavedModel format, so this runs offline)."""

import subprocess
import sys

import pytest


@pytest.mark.slow  # the hub encoder's embedding: tests/text/test_hub.py; the CLI's path: the cgan CLI tests
def test_cgan_trains_generates_and_exports_on_a_hub_encoder(hub_encoder_dir, emoji_folder, tmp_path):
    from emoji_t2i.generate import main as generate
    from emoji_t2i.train import main as train
    from tests.training.conftest import export_and_check_in_fresh_process, train_args

    run = tmp_path / "hub-cgan"
    assert train(train_args(emoji_folder, run, 1, 2, "--set", f"text_encoder=hub:{hub_encoder_dir}")) == 0
    assert (run / "tokenizer.json").read_text().count('"codepoint"') == 1
    assert generate(["--run", str(run), "crying cat", "-n", "2", "--seed", "0",
                     "-o", str(tmp_path / "g.png")]) == 0
    saved = export_and_check_in_fresh_process(run, tmp_path)
    # The SavedModel carries the encoder: it serves with the encoder's folder gone.
    hub_encoder_dir.rename(hub_encoder_dir.with_name("moved"))
    try:
        script = f"""
import tensorflow as tf
m = tf.saved_model.load({str(saved)!r})
assert m.serve(tf.constant(["pizza"]), 1).shape == (1, 72, 72, 4)
print("ok")
"""
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}, timeout=300)
        assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
    finally:
        hub_encoder_dir.with_name("moved").rename(hub_encoder_dir)
