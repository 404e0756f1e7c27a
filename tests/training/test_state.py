"""One run format for both Keras backends: ``state/`` stores weights, EMA and AdamW by name
(``training/state.py``), and ``python -m emoji_t2i.train --backend jax`` trains a diffusion run
that TensorFlow resumes, and back."""

import importlib.util
import json
import os
import shutil

import numpy as np
import pytest

from emoji_t2i.errors import MissingFile, UsageError
from emoji_t2i.training import state as st
from tests.training.conftest import TINY_UNET

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


def test_state_files_split_store_weights_by_name_and_still_read_by_position(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "STATE_FILE_BYTES", 1000)
    arrays = [np.arange(100, dtype=np.float32) + i for i in range(5)]  # 400 B each
    names = {"params": [f"block{i}/kernel" for i in range(5)], "optimizer": ["adamw/iteration", "adamw/lr"]}
    st.write_state(tmp_path, arrays, arrays[:2], arrays[::-1], {"step": 7}, names)
    assert len(list((tmp_path / "state").glob("params-*.npz"))) == 3
    state = st.read_state(tmp_path)
    assert sorted(state["params"]) == names["params"] and state["progress"] == {"step": 7}
    # read back in another order than written: by name, not by position
    shuffled = names["params"][::-1]
    for got, want in zip(st.in_order(state["params"], shuffled, "x"), arrays[::-1], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(st.in_order(state["ema"], names["params"], "x")[0], arrays[-1])
    with pytest.raises(UsageError, match=r"does not fit \(missing: block5/kernel; unexpected: block0/kernel\)"):
        st.in_order(state["params"], [*names["params"][1:], "block5/kernel"], "does not fit")
    # a state written before weights were stored by name is read by position
    (tmp_path / "old").mkdir()
    st.write_state(tmp_path / "old", arrays, arrays[:2], arrays, {"step": 1})
    old = st.read_state(tmp_path / "old")
    assert sorted(old["params"], key=int) == ["0", "1", "2", "3", "4"]
    for got, want in zip(st.in_order(old["params"], shuffled, "x"), arrays, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(UsageError, match="5 arrays for 4 weights"):
        st.in_order(old["params"], shuffled[:4], "x")
    with pytest.raises(MissingFile, match="start without --resume"):
        st.read_state(tmp_path / "nothing")


def test_a_tensorflow_diffusion_models_state_round_trips_by_name(tmp_path):
    """Every U-Net, EMA and AdamW variable goes into state/ under a backend-free name and comes
    back into a fresh model: the format the JAX trainer reads and writes."""
    from tests.harness import tiny_model

    source, target = (tiny_model("diffusion", text_encoder="minilm") for _ in range(2))
    rng = np.random.default_rng(0)
    for model in (source, target):
        st.model_optimizer(model)  # built as fit() builds it
    for v in [*source.denoiser.weights, *source.ema_denoiser.weights, *st.model_optimizer(source).variables]:
        v.assign(rng.normal(size=v.shape).astype(v.dtype) if v.dtype != "int64" else 7)
    st.write_model_state(tmp_path, source, {"step": 7})
    saved = st.read_state(tmp_path)
    names = st.optimizer_names(st.model_optimizer(source), list(saved["params"]))
    assert names[0] == "iteration" and "down0_0/conv1/kernel:momentum" in names and \
        "down0_0/conv1/kernel:velocity" in names and set(names) == set(saved["optimizer"])
    assert not any(k.startswith(("text_to_emoji", "adamw")) for k in [*saved["params"], *saved["optimizer"]])
    st.load_model_state(target, saved, "state")
    for net in ("denoiser", "ema_denoiser"):
        for a, b in zip(getattr(source, net).weights, getattr(target, net).weights, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(st.model_optimizer(source).variables, st.model_optimizer(target).variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(UsageError, match="does not fit this model"):
        st.load_model_state(tiny_model("diffusion", text_encoder="minilm", widths=(8, 16, 16)), saved, "state")
    for file in tmp_path.glob("state/optimizer-*.npz"):
        file.unlink()
    with pytest.raises(MissingFile, match="copy the whole state/ folder"):
        st.load_model_state(target, st.read_state(tmp_path), "state")


def test_a_resumed_run_keeps_the_probe_records_of_its_state_and_forgets_a_later_choice(tmp_path):
    """Records after the resumed step are rewritten away, and with them the probe's choice if
    it was made after that step (its files go); an earlier choice stays; a new choice leaves only
    its own files."""
    from emoji_t2i.training.probe import CHOSEN_FILES, append_record, read_records, resume_records

    def make(chosen_step):
        (tmp_path / "probe" / "preset").mkdir(parents=True, exist_ok=True)
        (tmp_path / "probe" / "ema-best.npz").write_bytes(b"x")
        (tmp_path / "probe" / "best.json").write_text(json.dumps({"record": {"step": chosen_step}}))
        (tmp_path / "probe.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3)))

    make(chosen_step=3)
    assert [r["step"] for r in resume_records(tmp_path, 2)] == [1, 2] == [r["step"] for r in read_records(tmp_path)]
    assert not any((tmp_path / "probe" / name).exists() for name in CHOSEN_FILES)
    make(chosen_step=1)
    assert [r["step"] for r in resume_records(tmp_path, 2)] == [1, 2]
    assert all((tmp_path / "probe" / name).exists() for name in CHOSEN_FILES)
    assert [r["step"] for r in resume_records(tmp_path, 3)] == [1, 2]  # nothing later: nothing changes
    # a new choice under the other backend replaces the old one's files (here JAX's EMA by a preset)
    record = {"step": 4, "heldout": {"near_copies": 0.0, "r_precision": 0.9}, "train": {"near_copies": 0.0,
                                                                                       "r_precision": 0.9}}
    assert append_record(tmp_path, [], record, lambda folder: (folder / "preset").mkdir(), log=lambda m: None)
    assert sorted(p.name for p in (tmp_path / "probe").iterdir()) == ["best.json", "preset"]


@needs_jax
def test_either_backend_resumes_the_others_diffusion_run(diffusion_run, emoji_folder, tmp_path, monkeypatch, capfd):
    """TensorFlow's run -> --resume --backend jax (its child without TensorFlow, as a GPU host
    has it) -> presets under TensorFlow from JAX's state -> --resume under TensorFlow again:
    one run folder, the step carried across, the weights and AdamW found by name both ways."""
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.train import main

    run = tmp_path / "run"
    shutil.copytree(diffusion_run, run)  # the shared run is read, never changed
    tf_state = st.read_state(run)
    # the JAX child: importing TensorFlow fails there, and each batch is split over two (virtual) devices
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path / "site"),
                                                                   os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("XLA_FLAGS", f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2")
    capfd.readouterr()
    step = tf_state["progress"]["step"]
    assert main(["--resume", "--backend", "jax", "--out", str(run), "--epochs", "3",
                 "--minutes", "1e-4"]) == 0  # out of time after one step
    child = capfd.readouterr().err
    assert "on 2 x cpu" in child and "--resume --presets-only" in child, child[-3000:]
    jax_state = st.read_state(run)
    assert jax_state["progress"]["step"] == step + 1
    assert json.loads((run / "config.json").read_text())["backend"] == "jax"
    moved = [np.abs(jax_state["params"][k] - v).max() for k, v in tf_state["params"].items()]
    assert max(moved) > 0  # JAX trained on from TensorFlow's weights (names matched, or it would not start)
    # the preset, written under TensorFlow after the child, samples with the EMA JAX left
    pipe = TextToImagePipeline.from_preset(run / "preset")
    for w, a in zip(pipe.model.ema_denoiser.weights,
                    st.in_order(jax_state["ema"], st.weight_names(pipe.model.ema_denoiser), "x"), strict=True):
        np.testing.assert_array_equal(np.asarray(w), a)
    metadata = json.loads((run / "preset" / "metadata.json").read_text())
    assert metadata["backend"] == "jax" and metadata["steps"] == step + 1
    # as a TensorFlow host does after the JAX run came back: presets only, nothing trained, the run still JAX's
    (run / "preset" / "metadata.json").unlink()
    assert main(["--resume", "--presets-only", "--out", str(run)]) == 0
    assert json.loads((run / "preset" / "metadata.json").read_text())["steps"] == step + 1
    assert st.read_state(run)["progress"] == jax_state["progress"]
    assert json.loads((run / "config.json").read_text())["backend"] == "jax"

    # under TensorFlow (the run's backend is jax: --backend says otherwise), from JAX's weights,
    # EMA and AdamW; mid-epoch, so from that epoch's start
    assert main(["--resume", "--backend", "tensorflow", "--out", str(run)]) == 0
    final = st.read_state(run)
    assert final["progress"]["step"] == step + 3  # mid-epoch 3 at step + 1: its two steps again
    assert max(np.abs(final["params"][k] - v).max() for k, v in jax_state["params"].items()) > 0
    assert json.loads((run / "config.json").read_text())["backend"] == "tensorflow"

    # a new JAX run prepared where TensorFlow is (config, tokenizer, bundle), to train on a host without it
    common = ["--data", str(emoji_folder), "--steps-per-epoch", "2", "--batch-size", "8"]
    fresh = tmp_path / "fresh"
    assert main(["--model", "diffusion", "--backend", "jax", "--prepare-only", "--out", str(fresh), *common,
                 *TINY_UNET]) == 0
    config = json.loads((fresh / "config.json").read_text())
    assert config["backend"] == "jax" and config["model"] == "diffusion"
    assert (fresh / "bundle" / "bundle.json").exists() and not (fresh / "state").exists()

    assert main(["--model", "diffusion", "--backend", "jax", "--out", str(tmp_path / "bad"), *common,
                 "--set", "text_encoder=embedding"]) == 2
    assert not (tmp_path / "bad").exists()
    assert main(["--model", "cgan", "--minutes", "1", "--out", str(tmp_path / "bad")]) == 2
    assert main(["--model", "cgan", "--backend", "jax", "--out", str(tmp_path / "bad")]) == 2
    # a folder too small for the probe's 99 mismatched captions: said in one line, no folder left
    assert main(["--model", "diffusion", "--backend", "jax", "--prepare-only", "--out", str(tmp_path / "bad"),
                 *common, *TINY_UNET, "--set", "probe_every=1"]) == 2
    assert not (tmp_path / "bad").exists() and "99 mismatched captions" in capfd.readouterr().err
