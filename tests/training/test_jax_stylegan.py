"""The StyleGAN's JAX step computes what the TensorFlow step computes: on the same weights
and draws, D's half (non-saturating loss, ADA's augmentation, lazy R1 through the images'
gradient) and G's half (style mixing, pixel noise, D's verdict) give the same losses and
gradients under both backends; and the jit-compiled whole step moves every weight, ADA's p
and the EMA. Each backend runs in a fresh process, as Keras picks its backend on import."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

HALVES = """
import os, sys, numpy as np
os.environ["KERAS_BACKEND"] = sys.argv[1]
import keras
from emoji_t2i.networks.augment import ADA_PARAMS
CONFIG = dict(vocabulary_size=40, z_dim=8, w_dim=16, mapping_depth=2, g_channels=[16, 8, 8, 8],
              d_channels=[8, 8, 8, 16], r1_gamma=0.5, r1_interval=4, mixing_prob=0.5, ada=True, ada_target=0.6,
              ada_interval=1, ada_speed_images=40, ema_decay=0.9)
rng = np.random.default_rng(0)
B = 4
if sys.argv[1] == "tensorflow":
    from emoji_t2i.models.stylegan import StyleGAN
    model = StyleGAN(**CONFIG)
    model.build([(None, 8), (None, 6)])
    model.compile(g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.0, beta_2=0.99),
                  d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.99))
    G, D = model.generator, model.discriminator
else:
    from emoji_t2i.training.jax_stylegan import JaxStyleGAN
    step = JaxStyleGAN(CONFIG)
    step.build(6)
    G, D = step.generator, step.discriminator
for net in (G, D):  # the same weights on both sides, in the networks' own order, scaled by fan-in
    for w in net.weights:  # (so that D's logits stay where the losses have gradients)
        scale = 1.0 / np.sqrt(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 0.1
        w.assign((scale * rng.normal(size=w.shape)).astype("float32"))
D.augment_probability.assign(0.4)
real, fake = (rng.uniform(-1, 1, (B, 72, 72, 4)).astype("float32") for _ in range(2))
tokens = rng.integers(1, 40, (B, 6)).astype("int32")
z, mix_z = (rng.normal(size=(B, 8)).astype("float32") for _ in range(2))
mix = np.array([[0.2, 0.5], [0.9, 0.1], [0.3, 0.99], [0.7, 0.7]], "float32")
ada = rng.uniform(0, 1, (B, 2, ADA_PARAMS)).astype("float32")
noise = {k: rng.normal(size=(B, *s)).astype("float32") for k, s in G.synthesis.noise_shapes().items()}
if sys.argv[1] == "tensorflow":
    d_loss, _, _, r1, d_grads = model.discriminator_gradients(real, fake, tokens, ada, 0)
    D.augment_probability.assign(0.0)  # see the test's docstring
    g_loss, g_grads = model.generator_gradients(z, mix_z, mix, tokens, ada, noise)
else:
    import jax
    state = step.state()
    (_, (d_loss, _, _, r1)), d_grads = jax.value_and_grad(step.discriminator_loss, has_aux=True)(
        state["d"], state["d_state"], real, fake, tokens, ada, 0)
    D.augment_probability.assign(0.0)
    zero_p = step.state()["d_state"]
    (_, (g_loss, _)), g_grads = jax.value_and_grad(step.generator_loss, has_aux=True)(
        state["g"], state["g_state"], state["d"], zero_p, z, mix_z, mix, tokens, ada, noise)
    train = jax.jit(step.train_step)
    new = state
    for i in range(2):
        new, logs = train(new, real, tokens, z, mix_z, mix, ada, jax.random.key(i), i)
    for part in ("g", "d", "ema"):
        moved = [not np.allclose(a, b) for a, b in zip(state[part], new[part])]
        assert all(moved), (part, moved.count(False), len(moved))
    assert abs(float(new["d_state"][step._p_index]) - 0.4) > 1e-6 and np.isfinite(float(logs["g_loss"]))
    assert "tensorflow" not in sys.modules
out = {"d_loss": np.asarray(d_loss), "r1": np.asarray(r1), "g_loss": np.asarray(g_loss)}
out.update({f"d{i}": np.asarray(g) for i, g in enumerate(d_grads)})
out.update({f"g{i}": np.asarray(g) for i, g in enumerate(g_grads)})
np.savez(sys.argv[2], **out)
"""


@needs_jax
@pytest.mark.slow  # a GPU recipe's trainer (benchmarks/gpu_stylegan.sh): make test-jax, before a GPU run
def test_the_jax_step_computes_the_tensorflow_steps_losses_and_gradients(tmp_path):
    """D's half with ADA's p at 0.4, G's at p = 0: TensorFlow's gradient of the image warp
    (ImageProjectiveTransformV3) warps the incoming gradient back by the inverse transform, an
    approximation of bilinear sampling's adjoint, where JAX differentiates the sampling itself;
    through an augmented fake, G's gradients then differ by up to 7 % (measured), at p = 0 they
    agree to 1e-6. D's weights never see that gradient."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    for backend in ("tensorflow", "jax"):
        result = subprocess.run([sys.executable, "-c", HALVES, backend, tmp_path / f"{backend}.npz"],
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    tf_side, jax_side = np.load(tmp_path / "tensorflow.npz"), np.load(tmp_path / "jax.npz")
    assert sorted(tf_side.files) == sorted(jax_side.files) and len(tf_side.files) > 20
    assert float(tf_side["r1"].min()) > 0  # step 0 is an R1 step: its gradient through the images counts
    for side in ("d", "g"):  # gradients that say something: neither half saturated
        assert max(np.abs(tf_side[k]).max() for k in tf_side.files if k[0] == side and k[1:].isdigit()) > 1e-3
    for key in tf_side.files:
        np.testing.assert_allclose(jax_side[key], tf_side[key], atol=1e-4, rtol=1e-4, err_msg=key)


@needs_jax
@pytest.mark.slow  # ~60 s: the step is the test above's; bundle, state and preset share the diffusion trainer's code
def test_a_stylegan_bundle_trains_under_jax_resumes_and_becomes_a_preset(tmp_path):
    """train_jax bundle/train/finish for the StyleGAN: the shipped preset's architecture from
    scratch, killed by --minutes after its first step, resumed, then a preset that TensorFlow
    samples from with the run's EMA generator and ADA's p."""
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.train_jax import main as train_jax_main

    bundle, run, preset = tmp_path / "bundle", tmp_path / "run", tmp_path / "preset"
    assert train_jax_main(["bundle", "--init-from", "stylegan-emoji72", "--out", str(bundle), "--limit", "16"]) == 0
    assert not (bundle / "captions.npz").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}

    def train_jax(*args):
        return subprocess.run([sys.executable, "-m", "emoji_t2i.train_jax", "train", "--bundle", str(bundle),
                               "--out", str(run), *map(str, args)], capture_output=True, text=True, env=env,
                              timeout=600)

    first = train_jax("--steps", 3, "--batch-size", 8, "--log-seconds", 0, "--minutes", 1e-4)
    assert first.returncode == 0 and "training a StyleGAN" in first.stderr, first.stderr[-3000:]
    resumed = train_jax("--resume")
    assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr[-3000:]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and all(np.isfinite(r["g_loss"]) for r in log)
    assert train_jax_main(["finish", "--run", str(run), "--out", str(preset)]) == 0
    metadata = json.loads((preset / "metadata.json").read_text())
    assert metadata["model"] == "stylegan" and metadata["steps"] == 3 and metadata["images_seen"] == 24
    pipe = TextToImagePipeline.from_preset(preset)
    shipped = TextToImagePipeline.from_preset("stylegan-emoji72")
    with np.load(run / "state" / "ema-0.npz") as f:
        key = next(k for k in f.files if k.endswith("const"))
        np.testing.assert_allclose(np.asarray(pipe.model.ema_generator.synthesis.const), f[key])
    images = pipe.sample(["anything"], seed=0, n=2)
    assert images.shape == (2, 72, 72, 4)
    assert not np.array_equal(images, shipped.sample(["anything"], seed=0, n=2))  # its own weights, not the shipped
