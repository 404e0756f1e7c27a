"""The diffusion model through the command line with its default text encoder (frozen
minilm, caption features cached per run): train, resume, the run's preset, generate with
sampling options, and a SavedModel whose two endpoints match the in-process pipeline."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from emoji_t2i.export import main as export_main
from emoji_t2i.generate import main as generate_main
from emoji_t2i.pipelines import TextToImagePipeline
from emoji_t2i.pipelines.editing import redraw_mask
from emoji_t2i.png_parameters import read_parameters
from emoji_t2i.train import main as train_main
from tests.training.conftest import TINY_UNET  # noqa: F401  (test_distributed imports it from here)


def test_run_has_wordpiece_tokenizer_checkpoints_and_preset(diffusion_run):
    config = json.loads((diffusion_run / "config.json").read_text())
    assert config["hparams"]["text_encoder"] == "minilm"
    assert config["training"]["tokenizer"] == "wordpiece" and config["command"].startswith("python -m")
    latest = tf.train.latest_checkpoint(str(diffusion_run / "checkpoints"))
    assert latest.endswith("ckpt-2")
    # the frozen MiniLM loads from its package: 22.6 M weights a checkpoint need not carry
    assert sum(np.prod(shape) for _, shape in tf.train.list_variables(latest)) < 2e6
    assert len((diffusion_run / "history.csv").read_text().splitlines()) == 3
    metadata = json.loads((diffusion_run / "preset" / "metadata.json").read_text())
    assert metadata["epochs"] == 2 and metadata["steps"] == 4
    from_run = TextToImagePipeline.from_run(diffusion_run).sample(["crying cat"], seed=5, n=2)
    from_preset = TextToImagePipeline.from_preset(diffusion_run / "preset").sample(["crying cat"], seed=5, n=2)
    np.testing.assert_array_equal(from_run, from_preset)


def test_generate_with_options_names_files_by_prompt_and_seed(diffusion_run, tmp_path, capsys):
    out = tmp_path / "pngs"
    assert generate_main(["--run", str(diffusion_run), "crying cat", "-n", "2", "--num-steps", "3",
                          "--guidance-scale", "2", "--sampler", "ddim", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    seed = int(printed.split("seed ")[1].split()[0])  # no --seed: one is drawn and printed
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == [f"crying_cat-seed{seed}-0.png", f"crying_cat-seed{seed}-1.png"]
    assert Image.open(out / files[0]).mode == "RGBA"
    assert generate_main(["--run", str(diffusion_run), "crying cat", "-n", "1", "--num-steps", "2", "--seed", "1",
                          "--negative-prompt", "pizza", "--out-dir", str(out / "away")]) == 0
    away = np.asarray(Image.open(out / "away" / "crying_cat-seed1-0.png"))
    want = TextToImagePipeline.from_run(diffusion_run).sample("crying cat", seed=1, num_steps=2,
                                                              negative_prompt="pizza")
    np.testing.assert_array_equal(away, want[0])


def test_generate_gives_each_prompt_its_own_files(diffusion_run, tmp_path):
    """Prompts that slug alike keep their own files; an emoji is named (and drawn) by its name;
    prompts come from the command line and a file, in that order."""
    out = tmp_path / "pngs"
    (tmp_path / "prompts.txt").write_text("# more prompts\ncrying cat!\n\n\U0001F63F\n", encoding="utf-8")
    assert generate_main(["--run", str(diffusion_run), "Crying cat", "--from-file", str(tmp_path / "prompts.txt"),
                          "-n", "1", "--num-steps", "2", "--seed", "0", "--out-dir", str(out)]) == 0
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == ["crying_cat-seed0-0.png", "crying_cat_2-seed0-0.png", "crying_cat_face-seed0-0.png"]
    made = read_parameters(out / "crying_cat_face-seed0-0.png")  # the file by name, the image by its prompt
    assert made["prompts"] == ["Crying cat"] and made["from_file"] == str(tmp_path / "prompts.txt")
    assert made["prompt"] == "\U0001F63F" and made["image"] == 2  # as typed
    drawn = np.asarray(Image.open(out / "crying_cat_face-seed0-0.png"))
    named = TextToImagePipeline.from_run(diffusion_run).sample(["Crying cat", "crying cat!", "crying cat face"],
                                                               seed=0, num_steps=2)
    np.testing.assert_array_equal(drawn, named[2])


def test_from_png_draws_what_a_png_records_again(diffusion_run, tmp_path):
    """Every PNG generate writes records its call; --from-png draws the same pixels from one of
    them, and options given beside it change only themselves."""
    first, again = tmp_path / "first", tmp_path / "again"
    assert generate_main(["--run", str(diffusion_run), "crying cat", "\U0001F355", "-n", "2", "--num-steps", "2",
                          "--negative-prompt", "red heart", "--guidance-interval", "0", "1e9",
                          "--out-dir", str(first)]) == 0
    one = next(first.glob("slice_of_pizza-*-1.png"))  # the emoji is read as its name
    made = read_parameters(one)
    assert made["run"] == str(diffusion_run) and made["image"] == 3 and made["guidance_interval"] == [0, 1e9]
    assert generate_main(["--from-png", str(one), "--out-dir", str(again)]) == 0
    files = sorted(p.name for p in first.glob("*.png"))
    assert files == sorted(p.name for p in again.glob("*.png")) and len(files) == 4
    for name in files:
        np.testing.assert_array_equal(np.asarray(Image.open(first / name)), np.asarray(Image.open(again / name)))
    grid = tmp_path / "grid.png"
    assert generate_main(["--from-png", str(one), "-n", "1", "--num-steps", "3", "-o", str(grid)]) == 0
    changed = read_parameters(grid)
    assert (changed["n"], changed["num_steps"], changed["seed"]) == (1, 3, made["seed"])
    assert changed["negative_prompt"] == "red heart" and "image" not in changed


def test_gan_refuses_diffusion_options(trained_run, capsys):
    assert generate_main(["--run", str(trained_run), "cat", "--num-steps", "5"]) == 2
    assert "takes no --num-steps" in capsys.readouterr().err
    assert generate_main(["--run", str(trained_run), "cat", "--negative-prompt", "dog"]) == 2
    assert "negative_prompt needs classifier-free guidance and a cgan model samples" in capsys.readouterr().err


def test_savedmodel_endpoints_match_the_pipeline(diffusion_run, tmp_path):
    out = tmp_path / "saved"
    assert export_main(["--run", str(diffusion_run), "--out", str(out)]) == 0
    pipe = TextToImagePipeline.from_run(diffusion_run)
    np.save(tmp_path / "default.npy", pipe.sample(["crying cat", "pizza"], seed=3))
    np.save(tmp_path / "options.npy", pipe.sample(["rocket"], seed=4, num_steps=3, guidance_scale=4.0))
    face = pipe.sample(["grinning face"], seed=1)[0]
    mask = redraw_mask("eyes")[..., 0]
    np.save(tmp_path / "face.npy", face)
    np.save(tmp_path / "mask.npy", mask)
    np.save(tmp_path / "emojify.npy", pipe.emojify(face, "crying cat", strength=0.7, seed=5, n=2))
    np.save(tmp_path / "inpaint.npy", pipe.inpaint(face, "crying cat", mask="eyes", seed=5, n=2))
    script = f"""
import sys, numpy as np, tensorflow as tf
m = tf.saved_model.load({str(out)!r})
load = lambda name: np.load({str(tmp_path)!r} + "/" + name + ".npy")
face, mask = load("face"), load("mask")
a = m.serve(tf.constant(["crying cat", "pizza"]), 3).numpy()
b = m.sample(tf.constant(["rocket"]), 4, tf.constant(3), tf.constant(4.0)).numpy()
c = m.emojify(face, "crying cat", 5, 2, 0.7).numpy()
d = m.inpaint(face, "crying cat", mask, 5, 2, 1.0).numpy()
for got, name in ((a, "default"), (b, "options"), (c, "emojify"), (d, "inpaint")):
    want = load(name)
    assert got.dtype == np.uint8 and got.shape == want.shape, (got.shape, want.shape)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, name
assert np.abs(d.astype(int) - face)[:, mask == 0].max() <= 2  # kept where the mask is 0
np.testing.assert_array_equal(m.emojify(face, "crying cat", 5, 2, 0.0).numpy(), np.stack([face] * 2))
for call, words in ((lambda: m.emojify(face[:70], "x", 0, 1, 0.5), "image must be one 72x72 RGBA frame"),
                    (lambda: m.emojify(face, "x", 0, 1, 1.5), "strength must be a number from 0"),
                    (lambda: m.inpaint(face, "x", mask[:9], 0, 1, 1.0), "mask must be [72, 72] floats"),
                    (lambda: m.inpaint(face, "x", 0 * mask, 0, 1, 1.0), "the mask marks nothing to redraw")):
    try:
        call()
        raise SystemExit("accepted: " + words)
    except tf.errors.InvalidArgumentError as e:
        assert words in str(e), str(e)[:300]
assert not any(n.startswith("emoji_t2i") for n in sys.modules)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


@pytest.mark.slow  # cgan's minilm step: test_cgan.py; the CLI's wordpiece rule: the diffusion run's test above
def test_cgan_trains_with_minilm(emoji_folder, tmp_path):
    from tests.training.conftest import train_args

    run = tmp_path / "cgan-minilm"
    assert train_main(train_args(emoji_folder, run, 1, 2, "--set", "text_encoder=minilm")) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["tokenizer"] == "wordpiece"
    images = TextToImagePipeline.from_run(run).sample(["crying cat", "rocket"], seed=0)
    assert images.shape == (2, 72, 72, 4)


@pytest.mark.slow  # every generator's warm start is in the harness (tests/models/test_zoo.py)
def test_init_from_a_run_starts_at_its_weights_and_records_the_lineage(diffusion_run, emoji_folder, tmp_path,
                                                                       capsys):
    """--init-from takes the preset's architecture (no TINY_UNET flags needed), tokenizer and EMA
    weights into both the trained and the EMA U-Net; a run of zero updates samples as the preset."""
    run = tmp_path / "finetune"
    common = ["--data", str(emoji_folder), "--batch-size", "8", "--seed", "3"]
    assert train_main(["--init-from", str(diffusion_run), "--epochs", "1", "--steps-per-epoch", "1",
                       "--set", "lr=0", "--out", str(run), *common]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["widths"] == [8, 16] and config["training"]["tokenizer"] == "wordpiece"
    assert config["init_from"]["preset"] == str(diffusion_run / "preset") and config["init_from"]["steps"] == 4
    assert json.loads((run / "preset" / "metadata.json").read_text())["init_from"]["epochs"] == 2
    # lr=0 (and EMA of identical weights) leaves the weights where the preset put them
    before = TextToImagePipeline.from_preset(diffusion_run / "preset").sample(["pizza"], seed=2, n=2)
    after = TextToImagePipeline.from_preset(run / "preset").sample(["pizza"], seed=2, n=2)
    assert np.abs(before.astype(int) - after.astype(int)).max() <= 1
    capsys.readouterr()
    assert train_main(["--init-from", str(diffusion_run), "--model", "cgan", "--out", str(tmp_path / "x"),
                       *common]) == 2
    assert "is a 'diffusion' preset, not 'cgan'" in capsys.readouterr().err


# ~70-95 s (a run on a whole style, 224 prompts judged): -m slow. What it joins is covered faster:
# the probe's measures (tests/evaluation/test_probe.py), its records and choice across a resume
# (tests/training/test_state.py); a probe inside training is also test_train_jax.py's packed run
# (make test-jax).
@pytest.mark.slow
def test_the_probe_logs_each_epoch_and_keeps_the_preset_its_rule_chooses(tmp_path, capsys):
    """--set probe_every: 224 fixed prompts of the embedded data sampled and judged every N
    epochs (here of a model trained on one small style); probe.jsonl, history.csv's columns and
    probe/preset, the chosen step's weights."""
    run = tmp_path / "probed"
    assert train_main(["--model", "diffusion", "--epochs", "2", "--out", str(run), "--set", "style=fxemoji",
                       "--steps-per-epoch", "2", "--batch-size", "8", *TINY_UNET,
                       "--set", "probe_every=2", "--set", "probe_steps=1", "--set", "composites=16"]) == 0
    assert "probe at step 4: train near copies" in capsys.readouterr().err
    records = [json.loads(line) for line in (run / "probe.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4] and [r["images_seen"] for r in records] == [32]  # every 2nd epoch
    assert all(0 <= r[s][k] <= 1 for r in records for s in ("train", "heldout", "composition")
               for k in ("near_copies", "r_precision"))  # minilm reads the composition prompts' words
    header = (run / "history.csv").read_text().splitlines()[0]
    assert "probe_composition_r_precision" in header
    assert "probe_heldout_r_precision" in header and "probe_train_near_copies" in header
    chosen = json.loads((run / "probe" / "best.json").read_text())
    assert chosen["record"] in records and "held-out R-precision" in chosen["rule"]
    metadata = json.loads((run / "probe" / "preset" / "metadata.json").read_text())
    assert metadata["steps"] == chosen["record"]["step"]
    assert TextToImagePipeline.from_preset(run / "probe" / "preset").sample(["rocket"], seed=0).shape == (1, 72, 72, 4)


def test_composites_join_the_training_images(embedded, capsys):
    fxemoji = int(np.sum((embedded.split == "train") & (embedded.metadata["style"] == "fxemoji")))
    assert train_main(["--model", "diffusion", "--dry-run", "--set", "style=fxemoji", *TINY_UNET,
                       "--set", "composites=40"]) == 0
    assert f"train images {fxemoji + 40}," in capsys.readouterr().out


def test_a_model_without_prompted_images_refuses_the_probe(tmp_path, capsys):
    assert train_main(["--model", "vq", "--epochs", "1", "--steps-per-epoch", "1", "--out", str(tmp_path / "r"),
                       "--set", "probe_every=1"]) == 2
    assert "draws no images from prompts to probe" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_evaluate_reads_the_composition_prompts_alone(diffusion_run, tmp_path, capsys):
    """--composition-only: the 120 prompts x 4 samples, read through both caption sides; no
    split is sampled, and the ceiling and floor, which draw no prompt, are refused."""
    from emoji_t2i.evaluate import main as evaluate_main

    out = tmp_path / "composition"
    assert evaluate_main(["--run", str(diffusion_run), "--composition-only", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["splits"] == {} and report["composition"]["samples"] == 480
    assert report["composition"]["reader"] == "composition caption side" and "matcher" in report["composition"]
    assert (out / "report.md").read_text().startswith("# Composition of")
    assert "through the matcher's single-emoji caption side" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        evaluate_main(["--noise", "--composition-only", "--out", str(out)])
    assert "--composition-only: real images and noise answer no composition prompt" in capsys.readouterr().err
