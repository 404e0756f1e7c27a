"""The JAX trainer (``python -m emoji_t2i.train_jax``): its arithmetic equals the TensorFlow
model's, its data order and state files keep the resume contract, and a bundle -> JAX run ->
resume -> preset round trip gives weights that the TensorFlow U-Net computes the same function
with (the JAX side runs in fresh processes, as it must: Keras picks its backend on import)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from emoji_t2i.training import jax_diffusion as jd
from emoji_t2i.training import state as st

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


ONE_LOSS = """
import os, sys, numpy as np
os.environ["KERAS_BACKEND"] = sys.argv[1]
import keras
from emoji_t2i.networks.ema import moved_average, warmup_decay
from emoji_t2i.networks.unet import TextConditionedUNet
from emoji_t2i.schedulers.loss import DenoisingLoss
net = TextConditionedUNet(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16)
net.build(None)
rng = np.random.default_rng(1)
for w in net.weights:  # the same non-zero weights on both sides (the last conv starts at zero)
    w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
x0 = rng.uniform(-1, 1, (4, 72, 72, 4)).astype("float32")
eps, t = rng.normal(size=x0.shape).astype("float32"), np.array([0.0, 0.3, 0.7, 1.0], "float32")
keep_draw, text = np.array([0.1, 0.5, 0.9, 0.05], "float32"), rng.normal(size=(4, 6)).astype("float32")
text_draw = rng.normal(size=text.shape).astype("float32")
loss = DenoisingLoss(condition_dropout=0.2, text_noise=0.1)(lambda x, s, c, k: net((x, s, c, k)), x0, eps, t,
                                                          keep_draw, text, text_draw)
ema = moved_average(np.float32(2.0), np.float32(4.0), warmup_decay(np.int32(5), 0.9))
np.save(sys.argv[2], np.append(np.asarray(loss), np.asarray(ema)))
from emoji_t2i.networks.augment import ADA_PARAMS, ada_augment  # the StyleGAN's augmentation
params = rng.uniform(0, 1, (4, ADA_PARAMS)).astype("float32")
np.save(sys.argv[2].replace(".npy", "-ada.npy"), np.asarray(ada_augment(x0, params, 0.7)))
from emoji_t2i.networks.augment import geometric_augment  # the diffusion model's (EDM's)
moved, labels = geometric_augment(x0, params[:, :9], 0.7)
np.save(sys.argv[2].replace(".npy", "-geometry.npy"), np.concatenate([np.reshape(moved, (4, -1)), labels], 1))
from emoji_t2i.networks.condition import pack_condition  # cross-attention over words, and style
import random
WORDS = dict(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16, heads=2, cross_attention=True, styles=3,
             context_dim=8, augment_dim=6, name="words")
random.seed(5)  # Keras' unseeded initializers draw their seeds from Python's generator
words = TextConditionedUNet(**WORDS)
words.build(None)
if sys.argv[1] == "jax":  # the JAX trainers' traced build draws the eager build's initial values
    from emoji_t2i.networks.traced_build import built_traced
    random.seed(5)
    traced = built_traced(lambda: (net := TextConditionedUNet(**WORDS), net.build(None))[0])
    assert [w.path for w in traced.weights] == [w.path for w in words.weights]
    assert all(np.array_equal(a, b) for a, b in zip(traced.weights, words.weights)), "traced build differs"
    assert sum(np.asarray(w).std() > 0 for w in traced.weights) > 20  # drawn, not zeros
for w in words.weights:
    w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], "float32")
condition = pack_condition(text, rng.normal(size=(4, 5, 6)), mask, np.array([0, -1, 2, 1]))
v = words((x0, np.array([-3.0, 0.0, 2.0, 5.0], "float32"), condition, np.array([1.0, 1.0, 0.0, 1.0], "float32")),
          augment_labels=rng.normal(0, 0.5, (4, 6)).astype("float32"))
np.save(sys.argv[2].replace(".npy", "-words.npy"), np.asarray(v))
from emoji_t2i.text.minilm import MiniLM  # the frozen text encoder a packed bundle carries
minilm = MiniLM(vocabulary_size=30, hidden=16, layers_count=2, heads=2, intermediate=32, max_positions=5)
minilm(np.zeros((1, 5), "int32"))
for w in minilm.weights:
    w.assign(rng.normal(0, 0.3, w.shape).astype("float32"))
encoded = minilm(np.array([[3, 7, 2, 0, 0], [9, 1, 4, 28, 5]], "int32"))
np.save(sys.argv[2].replace(".npy", "-minilm.npy"), np.concatenate([np.ravel(encoded["pooled"]),
                                                                    np.ravel(encoded["sequence"])]))
# (keras.utils.set_random_seed would import TensorFlow where it is installed: not called here)
assert sys.argv[1] == "tensorflow" or "tensorflow" not in sys.modules, "the objective imports TensorFlow"
"""


@needs_jax
def test_one_objective_and_ema_for_both_backends(tmp_path):
    """The JAX trainer imports the TensorFlow model's loss, schedule and EMA: the same numbers
    on the same draws and weights, and no TensorFlow import on the JAX side; the StyleGAN's
    augmentation (affine resampling, colour, cutout) is the same under both backends, and so is
    a U-Net with cross-attention over words, style and augmentation labels, and MiniLM; and the JAX
    trainers' traced build (training/jax_build.py) gives the eager build's initial weights."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    for backend in ("jax", "tensorflow"):
        result = subprocess.run([sys.executable, "-c", ONE_LOSS, backend, tmp_path / f"{backend}.npy"],
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    jax_values, tf_values = np.load(tmp_path / "jax.npy"), np.load(tmp_path / "tensorflow.npy")
    assert np.all(jax_values[:4] > 0) and len(set(jax_values[:4])) == 4
    np.testing.assert_allclose(jax_values, tf_values, rtol=1e-4)
    # min(0.9, 6 / 15) = 0.4: 0.4 * 2 + 0.6 * 4
    assert np.isclose(jax_values[4], 3.2)
    for kind in ("ada", "geometry", "words", "minilm"):
        np.testing.assert_allclose(np.load(tmp_path / f"jax-{kind}.npy"), np.load(tmp_path / f"tensorflow-{kind}.npy"),
                                   atol=1e-4)


DROPOUT_UNDER_JAX = """
import os
os.environ["KERAS_BACKEND"] = "jax"
import jax, numpy as np
from emoji_t2i.networks.traced_build import built_traced
from emoji_t2i.networks.unet import TextConditionedUNet
from emoji_t2i.training.jax_diffusion import dropout_seeds
net = built_traced(lambda: (n := TextConditionedUNet(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16,
                                                     dropout=0.3), n.build(None))[0])
assert not net.non_trainable_weights  # seed states are variables, not weights: nothing to store
count = len(net.non_trainable_variables)
rng = np.random.default_rng(0)
params = [rng.normal(0, 0.2, v.shape).astype("float32") for v in net.trainable_variables]
inputs = (rng.normal(size=(2, 72, 72, 4)).astype("float32"), np.zeros(2, "float32"),
          rng.normal(size=(2, 6)).astype("float32"), np.ones(2, "float32"))
call = jax.jit(lambda seeds, training: net.stateless_call(params, seeds, inputs, training=training)[0],
               static_argnums=1)
key = jax.random.key(3)
step4, again, step5 = (np.asarray(call(dropout_seeds(key, s, count), True)) for s in (4, 4, 5))
plain = np.asarray(call(dropout_seeds(key, 4, count), False))
print(count, float(np.abs(step4 - plain).mean()), float(np.abs(step4 - again).max()),
      float(np.abs(step4 - step5).mean()))
"""


@needs_jax
def test_the_jax_trainers_dropout_draws_its_masks_from_the_step():
    """Under JAX the U-Net's dropout layers take their seed states from the step's key: the
    same step draws the same masks (a resumed run replays them), another step others, and
    without training the network is the one without dropout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "TF_"))}
    result = subprocess.run([sys.executable, "-c", DROPOUT_UNDER_JAX], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    count, dropped, replayed, other = result.stdout.split()[-4:]
    assert int(count) == 8  # one per residual block: 2 down, 2 middle, 4 up
    assert float(dropped) > 1e-3 and float(replayed) == 0.0 and float(other) > 1e-3


BFLOAT16_ATTENTION = """
import os
os.environ["KERAS_BACKEND"] = "jax"
import keras
from emoji_t2i.networks.unet import TextConditionedUNet
from emoji_t2i.training.jax_diffusion import set_jax_precision
set_jax_precision("mixed_bfloat16")
net = TextConditionedUNet(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16)
net.build(None)
attention = [layer for layer in net._flatten_layers() if isinstance(layer, keras.layers.MultiHeadAttention)]
print(keras.config.dtype_policy().name, len(attention), [layer._flash_attention for layer in attention])
"""


@needs_jax
def test_the_jax_trainers_keep_bfloat16_attention_off_cudnn():
    """cuDNN's fused attention refuses the U-Net's 81-pixel self-attention in training and
    stalled a bfloat16 run on a GPU: the trainers' precision setting routes it to XLA's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "TF_"))}
    result = subprocess.run([sys.executable, "-c", BFLOAT16_ATTENTION], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "mixed_bfloat16 3 [False, False, False]", result.stdout

def test_epoch_order_is_a_function_of_seed_and_epoch_and_picks_only_real_captions():
    rows, draws = jd.epoch_order(10, 4, seed=1, epoch=3)
    assert rows.shape == (2, 4) and len(set(rows.ravel())) == 8  # 2 full batches, no repeats
    np.testing.assert_array_equal(rows, jd.epoch_order(10, 4, seed=1, epoch=3)[0])
    assert not np.array_equal(rows, jd.epoch_order(10, 4, seed=1, epoch=4)[0])
    slots = np.array([[5, -1, -1], [6, 7, 8]])
    picked = jd.caption_ids(slots, np.array([0, 1] * 50), np.random.default_rng(0).random(100))
    assert set(picked[::2]) == {5} and set(picked[1::2]) == {6, 7, 8}
    # --no-keyword-subsets: row 1's last caption is a keyword subset; only its own two are drawn
    own = jd.caption_ids(slots, np.array([0, 1] * 50), np.random.default_rng(0).random(100), np.array([1, 2]))
    assert set(own[::2]) == {5} and set(own[1::2]) == {6, 7}


def test_a_balanced_epoch_draws_each_group_alike_as_a_function_of_seed_and_epoch():
    from emoji_t2i.data.balance import sampling_weights

    weights = sampling_weights(np.array([0] * 8 + [1, 2]), "identity")  # one emoji in 8 tones, two in one
    rows = np.concatenate([jd.epoch_order(10, 5, seed=1, epoch=e, weights=weights)[0].ravel() for e in range(300)])
    assert np.mean(rows >= 8) == pytest.approx(2 / 3, abs=0.03)  # a permutation gives them 1/5
    np.testing.assert_array_equal(jd.epoch_order(10, 5, 1, 7, weights)[0], jd.epoch_order(10, 5, 1, 7, weights)[0])
    assert not np.array_equal(jd.epoch_order(10, 5, 1, 7, weights)[0], jd.epoch_order(10, 5, 1, 8, weights)[0])


def _jax(*args, cache=None, timeout=600, devices=None, log_compiles=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "TF_"))}
    if log_compiles:  # each compilation logged to stderr by the function's name: "Compiling jit(name) ..."
        env["JAX_LOG_COMPILES"] = "1"
    if devices:  # virtual CPU devices, as a machine with several accelerators has
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    if cache:  # the resumed run reuses the first run's compiled step
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache)
    return subprocess.run([sys.executable, "-m", "emoji_t2i.train_jax", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


UNET_OUTPUT = """
import os, sys, numpy as np
os.environ["KERAS_BACKEND"] = sys.argv[1]
import keras
from emoji_t2i.networks.unet import TextConditionedUNet
from emoji_t2i.training.state import assign_weights, read_state
import json
bundle = json.load(open(sys.argv[2] + "/bundle.json"))
net = TextConditionedUNet(**bundle["unet"])
net.build(None)
assign_weights(net, read_state(__import__("pathlib").Path(sys.argv[3]))["ema"], "the run's EMA does not fit")
rng = np.random.default_rng(0)
x = rng.normal(size=(2, 72, 72, 4)).astype("float32")
text = rng.normal(size=(2, bundle["unet"]["text_dim"])).astype("float32")
out = net((x, np.array([-3.0, 4.0], "float32"), text, np.array([1.0, 0.0], "float32")))
np.save(sys.argv[4], np.asarray(out))
"""


@needs_jax
@pytest.mark.slow  # ~3 min; the packed test below covers bundle and finish, test_state.py resume and two devices
def test_bundle_train_resume_and_preset_round_trip(diffusion_run, emoji_folder, tmp_path):  # noqa: F811
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.train_jax import main as train_jax_main

    bundle, run = tmp_path / "bundle", tmp_path / "run"
    # 40 images are too few for the probe's R-precision (the packed test below measures a probe)
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(bundle),
                           "--data", str(emoji_folder), "--no-probe"]) == 0
    meta = json.loads((bundle / "bundle.json").read_text())
    from emoji_t2i.data import load_dataset

    assert meta["images"] == len(load_dataset(str(emoji_folder)).subset("train"))
    assert meta["unet"]["widths"] == [8, 16] and meta["warm_start"]

    # with dropout: its masks are drawn from the step's key, so two devices draw what one does
    first = _jax("train", "--bundle", bundle, "--out", run, "--steps", 3, "--batch-size", 8,
                 "--precision", "float32", "--log-seconds", 0, "--warmup-steps", 0, "--lr", 1e-3,
                 "--minutes", 1e-4, "--dropout", 0.2, cache=tmp_path / "xla")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "training on cpu" in first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["step"] == 1  # --minutes ran out: checkpointed
    # data parallel: two (virtual) devices take half the batch each; the same first step
    parallel = _jax("train", "--bundle", bundle, "--out", tmp_path / "two", "--steps", 3, "--batch-size", 8,
                    "--precision", "float32", "--log-seconds", 0, "--warmup-steps", 0, "--lr", 1e-3,
                    "--minutes", 1e-4, "--dropout", 0.2, devices=2)
    assert parallel.returncode == 0 and "2 x cpu" in parallel.stderr, parallel.stderr[-3000:]
    one_device, two_devices = st.read_state(run), st.read_state(tmp_path / "two")
    assert one_device["progress"]["step"] == two_devices["progress"]["step"] == 1
    first_losses = [json.loads((r / "log.jsonl").read_text().splitlines()[0])["loss"] for r in (run, tmp_path / "two")]
    np.testing.assert_allclose(*first_losses, rtol=1e-5)
    assert one_device["params"].keys() == two_devices["params"].keys()
    for name, a in one_device["params"].items():
        np.testing.assert_allclose(a, two_devices["params"][name], atol=1e-6)
    again = _jax("train", "--bundle", bundle, "--out", run, "--steps", 3)
    assert again.returncode == 2 and "--resume" in again.stderr  # never overwrites a run
    resumed = _jax("train", "--bundle", bundle, "--out", run, "--resume", "--steps", 5, cache=tmp_path / "xla")
    assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.splitlines()[-1])["step"] == 5
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5] and all(np.isfinite(r["loss"]) for r in log)

    preset = tmp_path / "preset"
    assert train_jax_main(["finish", "--run", str(run), "--out", str(preset)]) == 0
    metadata = json.loads((preset / "metadata.json").read_text())
    assert metadata["steps"] == 5 and metadata["images_seen"] == 40 and metadata["device"].startswith("cpu")
    assert metadata["training"]["dropout"] == 0.2  # the resumed run kept it, and the preset says so
    assert json.loads((preset / "config.json").read_text())["config"]["dropout"] == 0.2
    assert metadata["init_from"]["preset"] == str(diffusion_run / "preset")

    before = TextToImagePipeline.from_preset(diffusion_run / "preset")
    after = TextToImagePipeline.from_preset(preset)
    state = st.read_state(run)
    weights = after.model.ema_denoiser.weights
    for w, a in zip(weights, st.in_order(state["ema"], st.weight_names(after.model.ema_denoiser), "x"), strict=True):
        np.testing.assert_array_equal(np.asarray(w), a)
    moved = [not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in
             zip(before.model.ema_denoiser.weights, after.model.ema_denoiser.weights, strict=True)]
    assert all(moved), f"{moved.count(False)} of {len(moved)} weights did not move"
    images = after.sample(["crying cat", "pizza"], seed=0)
    assert images.shape == (2, 72, 72, 4) and images.dtype == np.uint8

    # the same weights compute the same function under JAX and under TensorFlow
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    for backend in ("jax", "tensorflow"):
        result = subprocess.run([sys.executable, "-c", UNET_OUTPUT, backend, bundle, run,
                                 tmp_path / f"{backend}.npy"], capture_output=True, text=True, env=env,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "jax.npy"), np.load(tmp_path / "tensorflow.npy"), atol=1e-4)


def test_clear_errors(tmp_path, capsys):
    from emoji_t2i.train_jax import main as train_jax_main

    assert train_jax_main(["finish", "--run", str(tmp_path), "--out", str(tmp_path / "p")]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert train_jax_main(["bundle", "--init-from", "clip-emoji72", "--out", str(tmp_path / "b")]) == 2
    assert "trains diffusion presets" in capsys.readouterr().err


@needs_jax
def test_a_fitted_schedule_needs_minutes_and_no_snapshots_and_dropout_a_rate(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text('{"kind": "diffusion", "condition_dropout": 0.15}')
    train = ["train", "--bundle", bundle, "--out", tmp_path / "run", "--fit-schedule"]
    refused = _jax(*train)
    assert refused.returncode == 2
    assert "error: --fit-schedule fits the run's length to --minutes; give --minutes" in refused.stderr
    refused = _jax(*train, "--minutes", 9, "--snapshots", 0.5)
    assert refused.returncode == 2 and "with --fit-schedule the probe keeps" in refused.stderr
    refused = _jax("train", "--bundle", bundle, "--out", tmp_path / "run", "--steps", 9, "--dropout", 1)
    assert refused.returncode == 2
    assert "error: --dropout 1.0: give a rate from 0 up to (not including) 1, e.g. 0.1" in refused.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written


@needs_jax
def test_a_fitted_distillation_needs_minutes(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text('{"kind": "diffusion"}')
    refused = _jax("distill", "--bundle", bundle, "--out", tmp_path / "run", "--fit-schedule")
    assert refused.returncode == 2
    assert "error: --fit-schedule fits each stage's length to its share of --minutes; give --minutes" in refused.stderr
    assert not (tmp_path / "run").exists()


@needs_jax
def test_a_resumed_run_refuses_an_option_that_would_change_it(tmp_path):
    """--resume keeps the run's own options: one given with another value is a one-line error
    before anything is written (it used to be ignored, and the run went on at its old value)."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text('{"kind": "diffusion"}')
    for kind, config in (("distill", {"kind": "distill", "lr": 1e-4, "stages": [8, 4]}),
                         ("train", {"lr": 5e-4, "augment_probability": 0.12})):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "config.json").write_text(json.dumps(config))
    refused = _jax("distill", "--bundle", bundle, "--out", tmp_path / "distill", "--resume", "--lr", 3e-4,
                   "--minutes", 5)
    assert refused.returncode == 2
    assert "error: --lr 0.0003: a resumed run keeps its own (0.0001); leave it out" in refused.stderr
    refused = _jax("distill", "--bundle", bundle, "--out", tmp_path / "distill", "--resume", "--stages", "4,2")
    assert refused.returncode == 2 and "error: --stages 4,2: a resumed run keeps its own ([8, 4])" in refused.stderr
    refused = _jax("train", "--bundle", bundle, "--out", tmp_path / "train", "--resume", "--lr", 5e-4,
                   "--augment", 0.2)  # the same rate passes; the augmentation would change
    assert refused.returncode == 2 and "error: --augment 0.2: a resumed run keeps its own (0.12)" in refused.stderr
    assert json.loads((tmp_path / "train" / "config.json").read_text()) == {"lr": 5e-4, "augment_probability": 0.12}


@needs_jax
@pytest.mark.slow  # ~1 min: make test-jax
def test_a_fitted_schedule_ends_its_decay_when_the_minutes_run_out(diffusion_run, tmp_path):  # noqa: F811
    """--fit-schedule: --steps only a cap, the length planned from the measured speed at every
    log line and passed into the jitted step; the learning rate decays to its floor as the budget
    runs out, and the state written without the rate resumes."""
    from emoji_t2i.train_jax import main as train_jax_main

    bundle, run = tmp_path / "bundle", tmp_path / "run"
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(bundle),
                           "--no-weights", "--no-probe", "--limit", "24"]) == 0
    trained = _jax("train", "--bundle", bundle, "--out", run, "--fit-schedule", "--minutes", 0.75,
                   "--steps", 100_000, "--batch-size", 8, "--precision", "float32", "--log-seconds", 1,
                   "--warmup-steps", 5, "--lr", 1e-3, cache=tmp_path / "xla")
    assert trained.returncode == 0, trained.stderr[-3000:]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert "planned_steps" not in log[0]  # the stretch that compiled the step is not timed; nor is the cap a plan
    # a plan needs 10 timed steps (on a loaded machine, more than one log line); once made, every line has one
    first = next(i for i, r in enumerate(log) if "planned_steps" in r)
    plans = [r.get("planned_steps") for r in log[first:]]
    assert len(plans) >= 2, log
    assert all(p is not None and p >= r["step"] for p, r in zip(plans, log[first:], strict=True)), log
    last = log[-1]
    assert last["step"] >= 0.9 * plans[-1] and last["step"] > 10, (last, plans)
    assert last["lr"] < 0.5e-3, log  # decayed towards its floor (1e-4) by the end of the minutes, not cut at the peak
    assert max(r["lr"] for r in log) > 0.7e-3  # ...after reaching the peak
    saved = st.read_state(run)
    assert "learning_rate" not in saved["optimizer"] and saved["progress"]["planned_steps"] == plans[-1]
    resumed = _jax("train", "--bundle", bundle, "--out", run, "--resume", "--minutes", 0.05, cache=tmp_path / "xla")
    assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.splitlines()[-1])["step"] > last["step"]  # a new budget, a new plan


@needs_jax
@pytest.mark.slow  # the flagship's GPU recipe (benchmarks/gpu_flagship.sh), ~110 s: make test-jax, before a GPU run
def test_packed_bundle_trains_under_jax_and_its_preset_samples_by_style(diffusion_run, tmp_path):  # noqa: F811
    """Cross-attention and style through the JAX trainer: the bundle carries minilm (float16, its
    word table cut) and token ids, JAX encodes the captions as TensorFlow does, an EMA snapshot
    becomes a preset holding its weights by name, and the preset samples by style."""
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.text.minilm import shared_minilm
    from emoji_t2i.train_jax import main as train_jax_main

    bundle, run = tmp_path / "bundle", tmp_path / "run"
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(bundle),
                           "--cross-attention", "--style-conditioning", "--no-weights", "--limit", "24",
                           "--parts", "2"]) == 0
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["packed"] and meta["unet"]["cross_attention"] and meta["unet"]["styles"] == len(meta["styles"]) >= 1
    assert sorted(p.name for p in bundle.glob("images*.npz")) == ["images-0.npz", "images-1.npz"]
    assert meta["caption_slots"] > 0 and (bundle / "minilm.npz").stat().st_size < 30e6
    trained = _jax("train", "--bundle", bundle, "--out", run, "--steps", 2, "--batch-size", 8,
                   "--precision", "float32", "--log-seconds", 0, "--snapshots", "0.5", "--text-noise", 0.1,
                   "--augment", 0.5, "--probe-every", 2, "--probe-steps", 1, "--balance", "identity",
                   devices=2, log_compiles=True)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "encoded" in trained.stderr and json.loads(trained.stdout.splitlines()[-1])["step"] == 2
    assert "balance identity" in trained.stderr
    assert json.loads((run / "config.json").read_text())["balance"] == "identity"
    # the probe's sampler compiled once, before training (so outside any probe the fitted schedule times),
    # for weights on both devices: the trained EMA then samples without compiling again
    lines = trained.stderr.splitlines()
    compiles = [i for i, line in enumerate(lines) if "Compiling jit(sample)" in line]
    announced = next(i for i, line in enumerate(lines) if line.startswith("probe: ") and "compiled in" in line)
    assert len(compiles) == 1 and compiles[0] < announced, [lines[i] for i in compiles]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)
    # the probe measured the EMA and kept it (the rule: tests/evaluation/test_probe.py; resume and two
    # devices: tests/training/test_state.py)
    records = [json.loads(line) for line in (run / "probe.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2], records
    assert all(0 <= r[s][k] <= 1 for r in records for s in ("train", "heldout", "composition")
               for k in ("near_copies", "r_precision"))  # a packed bundle's probe asks the composition prompts too
    chosen = json.loads((run / "probe" / "best.json").read_text())["record"]
    assert chosen in records and (run / "probe" / "ema-best.npz").exists()
    assert (run / "probe" / "latest.png").exists() and (run / "probe" / "best.png").exists()
    snapshot = run / "snapshots" / "ema-000001.npz"
    assert snapshot.exists() and {p.name for p in (run / "snapshots").iterdir()} == {snapshot.name}
    for name in ("params", "optimizer"):  # what comes back from a GPU: the EMA alone
        for file in (run / "state").glob(f"{name}-*.npz"):
            file.unlink()

    preset = tmp_path / "preset"
    assert train_jax_main(["finish", "--run", str(run), "--out", str(preset), "--snapshot", str(snapshot)]) == 0
    assert json.loads((preset / "metadata.json").read_text())["ema_step"] == 1
    pipe = TextToImagePipeline.from_preset(preset)
    assert pipe.styles == tuple(meta["styles"]) and pipe.model.cross_attention
    assert pipe.model.augment_probability == 0.5 and pipe.model.ema_denoiser.augment_dim == 6
    with np.load(snapshot) as f:  # snapshots store weights by name; the preset's EMA is the snapshot's
        assert "mid_words/query/kernel" in f.files
        for w, a in zip(pipe.model.ema_denoiser.weights,
                        st.in_order(dict(f), st.weight_names(pipe.model.ema_denoiser), "x"), strict=True):
            np.testing.assert_allclose(np.asarray(w), a.astype("float32"))
    images = pipe.sample(["crying cat"], seed=0, style=meta["styles"][0])
    assert images.shape == (1, 72, 72, 4)

    # the bundle's float16 minilm, its word table cut, gives the captions the full float32 one
    # gives (MiniLM computes the same under JAX: test_one_objective_and_ema_for_both_backends)
    bundle_data = jd.read_bundle(bundle)
    assert bundle_data["balance_group"].shape == (meta["images"],)  # --balance's groups travel with the images
    pooled = np.asarray(jd.bundle_minilm(bundle_data)(bundle_data["tokens"][:4])["pooled"])
    ids = bundle_data["vocabulary_ids"][bundle_data["tokens"][:4]]
    assert np.abs(np.asarray(shared_minilm()(ids)["pooled"]) - pooled).max() < 5e-3

    # warm-started from the sentence-only preset, the bundle grows its U-Net: the preset's weights
    # by name (float16 in a packed bundle), the new words and style layers where they add nothing
    grown = tmp_path / "grown"
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(grown),
                           "--cross-attention", "--style-conditioning", "--limit", "8", "--no-probe"]) == 0
    meta = json.loads((grown / "bundle.json").read_text())
    assert meta["init_from"]["grown"] and meta["warm_start"] and meta["unet"]["cross_attention"]
    source = TextToImagePipeline.from_preset(diffusion_run / "preset").model.ema_denoiser
    with np.load(grown / "weights.npz") as f:
        for name, w in zip(st.weight_names(source), source.weights, strict=True):
            np.testing.assert_allclose(f[name], np.asarray(w), rtol=1e-3, atol=1e-4)
        assert not f["style_dense/kernel"].any() and not f["mid_words/out/kernel"].any()
        assert f["mid_words/query/kernel"].any()


@needs_jax
@pytest.mark.slow  # ~1.5 min: make test-jax, before a GPU run
def test_the_flagship_gpu_recipe_runs_as_its_calls(diffusion_run, tmp_path):  # noqa: F811
    """benchmarks/gpu_flagship.sh as the GPU machine runs it: each call a fresh working tree
    holding only what it carried, the stash kept between calls; the last trains with a fitted
    schedule and leaves what comes back (at most 8 files) under $OUT."""
    from emoji_t2i.train_jax import main as train_jax_main

    repo = Path(__file__).resolve().parents[2]
    bundle = tmp_path / "bundle"
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(bundle),
                           "--cross-attention", "--style-conditioning", "--no-weights", "--limit", "24",
                           "--parts", "2"]) == 0
    files = sorted(p.name for p in bundle.iterdir())
    calls = [[f for f in files if f != "images-1.npz"], ["images-1.npz"]]  # the recipe's packing: gpu_carry.py
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "TF_"))}
    env.update(PY=sys.executable, BATCH="8", FLAGSHIP_STASH=str(tmp_path / "stash"))
    # the first probe after the plan: a fitted run plans once 10 steps are timed, and with a
    # probe at step 10 a busy CPU once spent the whole minute before any plan existed
    commands = (["stash"], ["train", "fit", "1", "float32", "--probe-every", "20", "--probe-steps", "1",
                            "--log-seconds", "1"])
    for i, (carried, command) in enumerate(zip(calls, commands, strict=True)):
        machine = tmp_path / f"machine{i}"  # a fresh tree: the code, and this call's part of the bundle
        for folder in ("emoji_t2i", "benchmarks"):
            shutil.copytree(repo / folder, machine / folder, ignore=shutil.ignore_patterns(
                "__pycache__", "presets", "judges"))
        (machine / "runs" / "bundle8").mkdir(parents=True)
        for name in carried:
            shutil.copy(bundle / name, machine / "runs" / "bundle8" / name)
        done = subprocess.run(["bash", "benchmarks/gpu_flagship.sh", *command], cwd=machine, capture_output=True,
                              text=True, env={**env, "OUT": str(tmp_path / f"out{i}")}, timeout=600)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = tmp_path / "out1"
    returned = sorted(p.name for p in out.iterdir())
    assert "run-small.tgz" in returned and "ema-best.npz" in returned and len(returned) <= 8, returned
    assert any(name.startswith("ema-0") for name in returned)
    with tarfile.open(out / "run-small.tgz") as archive:
        archive.extractall(tmp_path / "small", filter="data")
    config = json.loads((tmp_path / "small" / "config.json").read_text())
    assert config["fit_schedule"] and config["minutes"] == 1 and "steps" not in config
    log = [json.loads(line) for line in (tmp_path / "small" / "log.jsonl").read_text().splitlines()]
    assert log and all(np.isfinite(r["loss"]) for r in log)
    assert (tmp_path / "small" / "probe.jsonl").exists() and (tmp_path / "small" / "probe" / "best.json").exists()

    # here again: what came back becomes a run folder and its preset (the probe's choice)
    run = tmp_path / "flagship"
    after = subprocess.run(["bash", "benchmarks/after_gpu_flagship.sh", str(out), str(run)], cwd=repo,
                           capture_output=True, text=True, env={**env, "PRESET_ONLY": "1"}, timeout=300)
    assert after.returncode == 0, (after.stdout + after.stderr)[-3000:]
    metadata = json.loads((run / "preset" / "metadata.json").read_text())
    progress = json.loads((run / "state" / "progress.json").read_text())
    assert metadata["training"]["steps"] == progress["planned_steps"] >= progress["step"]  # the cosine's planned end
    assert metadata["training"]["fit_schedule_minutes"] == 1 and (run / "figures" / "probe_curve.png").exists()
