"""``StyleGANPipeline``: what seed 004's emoji service did with a trained StyleGAN, as plain
functions the CLIs and the web app call.

    pipe = StyleGANPipeline.from_preset()                    # the shipped stylegan-emoji72
    images = pipe.sample(8, seed=0, truncation_psi=0.7)      # uint8 RGBA
    directions = pipe.directions(k=5)                        # SeFa, closed form
    w = pipe.latents(1, seed=3)
    edited = pipe.synthesize(pipe.edit(w, directions, [2.0, 0, 0, 0, 0]))
    blended = pipe.blend(StyleGANPipeline.from_preset("stylegan-emoji72-twitter"), level=18)
    w, image, losses = pipe.project(my_rgba_uint8, steps=200)

Edits, mixing and blending work in w space (dvschultz/stylegan2-ada-pytorch #14): one w per
image, broadcast to every layer, so a projected image takes the same sliders as a sample.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from emoji_t2i.data.images import to_uint8
from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines.checks import check_count, check_sampling_options, check_seed
from emoji_t2i.pipelines.presets import load_preset
from emoji_t2i.pipelines.run_dir import RunError
from emoji_t2i.pipelines.text_to_image import initial_noise, load_run_model

DEFAULT_STYLEGAN = "stylegan-emoji72"
SEFA_LAYERS = {"coarse": (9, 18), "middle": (36,), "fine": (72,), "all": (9, 18, 36, 72)}


@dataclasses.dataclass
class Directions:
    """SeFa's directions: unit vectors in w space (k, w_dim), their eigenvalues, and the
    std of w along each (what a slider's unit is: +-3 covers the samples' range)."""

    vectors: np.ndarray
    eigenvalues: np.ndarray
    stds: np.ndarray
    layers: str

    def save(self, path: Path) -> None:
        np.savez(path, vectors=self.vectors, eigenvalues=self.eigenvalues, stds=self.stds, layers=self.layers)

    @classmethod
    def load(cls, path: Path) -> Directions:
        with np.load(path) as f:
            return cls(f["vectors"], f["eigenvalues"], f["stds"], str(f["layers"]))


class StyleGANPipeline:
    def __init__(self, model, tokenizer, config: dict):
        if getattr(model, "zoo_name", "") != "stylegan":
            raise RunError(f"a {config.get('model')!r} model has no w space: pass a stylegan run or preset "
                           f"(shipped: {DEFAULT_STYLEGAN})")
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.generator = model.ema_generator
        self.sequence_length = int(tokenizer([""]).shape[1])

    @classmethod
    def from_preset(cls, name_or_path=DEFAULT_STYLEGAN) -> StyleGANPipeline:
        import keras

        keras.config.set_dtype_policy("float32")
        return cls(*load_preset(name_or_path))

    @classmethod
    def from_run(cls, path) -> StyleGANPipeline:
        import keras

        keras.config.set_dtype_policy("float32")
        return cls(*load_run_model(path))

    @classmethod
    def load(cls, source) -> StyleGANPipeline:
        """A run folder (with checkpoints), else a preset name or folder."""
        if (Path(source) / "checkpoints").is_dir():
            return cls.from_run(source)
        return cls.from_preset(source)

    # --- latents ---------------------------------------------------------------------------------
    @property
    def w_avg(self) -> np.ndarray:
        return np.asarray(self.generator.mapping.w_avg)[None]

    def latents(self, n: int, seed: int, prompt: str = "", truncation_psi: float = 1.0) -> np.ndarray:
        """(n, w_dim) ws of a seed (the same z as ``sample`` and the text pipelines draw)."""
        n, seed = check_count(n), check_seed(seed)
        check_sampling_options({"truncation_psi": truncation_psi})
        if not isinstance(prompt, str):
            raise UsageError(f"prompt {prompt!r:.40} is {type(prompt).__name__}: give words, or '' for none")
        z = initial_noise(n, (self.model.z_dim,), seed)
        tokens = self.tokenizer(tf.constant([prompt] * n))
        w = self.generator.mapping([z, tokens], training=False)
        return np.asarray(self.generator.truncate(w, truncation_psi))

    def synthesize(self, w: np.ndarray, generator=None) -> np.ndarray:
        """uint8 RGBA from ws: (n, w_dim) broadcast to every layer, or (n, num_ws, w_dim)."""
        generator = generator or self.generator
        w = np.asarray(w, np.float32)
        w_dim, num_ws = self.model.w_dim, generator.synthesis.num_ws
        if w.shape[-1:] != (w_dim,) or w.ndim not in (2, 3) or (w.ndim == 3 and w.shape[1] != num_ws):
            raise UsageError(f"w of shape {w.shape}: give (n, {w_dim}) or (n, {num_ws}, {w_dim}), "
                             "as latents() or project() return")
        w = tf.convert_to_tensor(w)
        ws = generator.broadcast(w) if len(w.shape) == 2 else w
        return to_uint8(generator.synthesis(ws, training=False))

    def sample(self, n: int, seed: int = 0, truncation_psi: float = 1.0, prompt: str = "") -> np.ndarray:
        return self.synthesize(self.latents(n, seed, prompt, truncation_psi))

    def mix(self, w_coarse: np.ndarray, w_fine: np.ndarray, crossover: int = 36) -> np.ndarray:
        """Style mixing: layers below ``crossover`` px from ``w_coarse``, the rest from ``w_fine``."""
        resolutions = np.asarray(self.generator.synthesis.layer_resolutions)
        coarse = (resolutions < crossover)[None, :, None]
        return np.where(coarse, np.asarray(w_coarse)[:, None], np.asarray(w_fine)[:, None]).astype(np.float32)

    # --- SeFa ------------------------------------------------------------------------------------
    def directions(self, k: int = 5, layers: str = "coarse", samples: int = 1000) -> Directions:
        """Closed-form factorisation (Shen & Zhou 2021): the top eigenvectors of A^T A, A the
        stacked (row-normalised) style affine weights of the chosen layers' convolutions."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= self.model.w_dim:
            raise UsageError(f"k {k!r}: use a whole number from 1 to {self.model.w_dim} (w's size)")
        if layers not in SEFA_LAYERS:
            raise UsageError(f"layers={layers!r}: use one of {', '.join(SEFA_LAYERS)}")
        synthesis = self.generator.synthesis
        chosen = [layer for (name, size), layer in zip(synthesis.slots, synthesis.style_layers(), strict=True)
                  if size in SEFA_LAYERS[layers] and not name.startswith("rgba")]
        weights = np.concatenate([np.asarray(layer.affine.kernel).T * layer.affine.scale for layer in chosen])
        weights /= np.linalg.norm(weights, axis=1, keepdims=True)
        eigenvalues, vectors = np.linalg.eigh(weights.T @ weights)
        order = np.argsort(eigenvalues)[::-1][:k]
        vectors = vectors[:, order].T.astype(np.float32)
        spread = self.latents(samples, seed=12345) @ vectors.T
        return Directions(vectors, eigenvalues[order].astype(np.float32), spread.std(axis=0).astype(np.float32),
                          layers)

    @staticmethod
    def edit(w: np.ndarray, directions: Directions, amounts) -> np.ndarray:
        """w + sum_i amounts[i] * std_i * direction_i (amounts in slider units, ~ -3..3)."""
        amounts = np.asarray(amounts, np.float32)[: len(directions.vectors)]
        shift = (amounts * directions.stds[: len(amounts)]) @ directions.vectors[: len(amounts)]
        return (np.asarray(w, np.float32) + shift).astype(np.float32)

    # --- network blending ------------------------------------------------------------------------
    def blend(self, other: StyleGANPipeline, level: int) -> StyleGANPipeline:
        """A generator with this model's mapping, constant and layers at <= ``level`` px and
        ``other``'s layers above (Pinkney & Adler 2020). Both must share an architecture
        (in practice a parent and its fine-tune, so their w spaces still agree)."""
        mine, theirs = self.model.get_config(), other.model.get_config()
        keys = ("z_dim", "w_dim", "mapping_depth", "g_channels", "conditional")
        if any(mine.get(k) != theirs.get(k) for k in keys):
            raise UsageError("blend: the two models differ in architecture "
                             f"({', '.join(k for k in keys if mine.get(k) != theirs.get(k))}); blend a model "
                             "with its own fine-tune")
        model, tokenizer, config = fresh_model_like(self)
        target = model.ema_generator
        target.set_weights(self.generator.get_weights())
        # the first model's D too: a saved blend is fine-tuned and projected like any preset
        model.discriminator.set_weights(self.model.discriminator.get_weights())
        synthesis = target.synthesis
        for (name, size), layer in zip(synthesis.slots, synthesis.style_layers(), strict=True):
            if size > level:
                layer.set_weights(getattr(other.generator.synthesis, name).get_weights())
        return StyleGANPipeline(model, tokenizer, {**config, "blend": {"level": level}})

    # --- projection ------------------------------------------------------------------------------
    def project(self, image: np.ndarray, steps: int = 200, learning_rate: float = 0.05, feature_weight: float = 1.0,
                progress=None):
        """Find the w whose image matches ``image`` (72x72x4 uint8): Adam on w from the mean w,
        against pixel MSE on RGBA plus the distance between D's normalised feature maps (an
        in-domain perceptual loss: D has seen emoji, an ImageNet network has not).
        Returns (w (1, w_dim), the image of w, per-step losses); ``progress(step, loss)``."""
        image = np.asarray(image)
        if image.shape != (72, 72, 4) or image.dtype != np.uint8:
            raise UsageError(f"project: expected a 72x72 RGBA uint8 image, got {image.shape} {image.dtype}; "
                             "convert it with emoji_t2i.data.images.load_image")
        target = tf.constant(image[None].astype(np.float32) / 127.5 - 1.0)
        discriminator = self.model.discriminator
        target_maps = [unit_channels(m) for m in discriminator.features(target)[1]]
        w = tf.Variable(self.w_avg.astype(np.float32))
        step_fn = make_projection_step(self.generator, discriminator, target, target_maps, w, learning_rate,
                                       feature_weight)
        losses = []
        start = time.perf_counter()
        for i in range(steps):
            losses.append(float(step_fn()))
            if progress is not None:
                progress(i + 1, losses[-1])
        final = w.numpy()
        self.last_projection_seconds = time.perf_counter() - start
        return final, self.synthesize(final), np.asarray(losses)


def unit_channels(x):
    x = tf.cast(x, tf.float32)
    return x * tf.math.rsqrt(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True) + 1e-8)


def make_projection_step(generator, discriminator, target, target_maps, w, learning_rate, feature_weight):
    """One Adam step on w per call (plain TF: w is one tf.Variable, not a Keras model)."""
    m, v, t = tf.Variable(tf.zeros_like(w)), tf.Variable(tf.zeros_like(w)), tf.Variable(0.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            image = tf.cast(generator.synthesis(generator.broadcast(w), training=False), tf.float32)
            loss = tf.reduce_mean(tf.square(image - target))
            if feature_weight:
                maps = discriminator.features(image)[1]
                for mine, theirs in zip(maps, target_maps, strict=True):
                    loss += feature_weight * tf.reduce_mean(tf.reduce_sum(tf.square(unit_channels(mine) - theirs), -1))
        grad = tape.gradient(loss, w)
        t.assign_add(1.0)
        m.assign(0.9 * m + 0.1 * grad)
        v.assign(0.999 * v + 0.001 * tf.square(grad))
        w.assign_sub(learning_rate * (m / (1.0 - 0.9 ** t)) / (tf.sqrt(v / (1.0 - 0.999 ** t)) + 1e-8))
        return loss

    return step


def fresh_model_like(pipe: StyleGANPipeline):
    """A fresh model with ``pipe``'s config (weights to be set by the caller)."""
    from emoji_t2i.models import get_model_class

    config = {k: v for k, v in pipe.model.get_config().items() if k not in ("name", "trainable", "dtype")}
    model = get_model_class("stylegan")(**config)
    model.build_for_sampling(pipe.sequence_length)
    return model, pipe.tokenizer, dict(pipe.config)
