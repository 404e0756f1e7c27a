"""``TextToImagePipeline``: prompts -> uint8 RGBA emoji, the one sampling path that
generate, export, evaluate, the notebooks and the web app use.

    pipe = TextToImagePipeline.from_preset()                  # diffusion-emoji72-fast: 4 calls an emoji
    guided = TextToImagePipeline.from_preset("diffusion-emoji72")  # its teacher: steps, negative prompts
    mine = TextToImagePipeline.from_run("runs/my-run")        # a run's latest checkpoint
    images = pipe.sample(["crying cat"], seed=0, n=4)
    images = guided.sample(["woman"], seed=0, n=4, num_steps=20, negative_prompt="blond hair")
    kitchen = guided.mashup("jack-o-lantern", "smiling face with horns", mix=0.5, n=4)
    me = guided.emojify(photo_rgba, "person", strength=0.9, n=4)
    asleep = guided.inpaint(face_rgba, "sleeping face", mask="eyes", n=4)

Sampling runs in chunks of ``SAMPLE_CHUNK`` examples, so memory stays flat however many
images are asked for. Chunk ``c``'s starting noise is ``tf.random.stateless_normal`` keyed by
``[seed, c]``, here and in the exported SavedModel (``sample_in_chunks`` is shared), so one seed
gives the same images in both.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from emoji_t2i import CHANNELS, IMAGE_SIZE
from emoji_t2i.data.images import to_uint8, to_uint8_tensor, to_unit_range
from emoji_t2i.errors import UsageError, warn_at_caller
from emoji_t2i.models import build_model
from emoji_t2i.pipelines.checks import (
    SAMPLING_OPTIONS,
    check_count,
    check_sampling_options,
    check_seed,
    prompt_list,
)
from emoji_t2i.pipelines.editing import (
    SDEDIT_MASHUP_STRENGTH,
    blend_premultiplied,
    check_fractions,
    prepare_photo,
    redraw_mask,
    slerp,
)
from emoji_t2i.pipelines.editing_options import DEFAULT_MASHUP, EMOJIFY_STRENGTH, MASHUP_METHODS
from emoji_t2i.pipelines.presets import DEFAULT_PRESET, GUIDED_PRESET, STYLES_PRESET, load_preset
from emoji_t2i.pipelines.run_dir import RunDir, RunError
from emoji_t2i.text.eager_graph import trace_eager_calls
from emoji_t2i.text.tokenizers import known_fractions, load_tokenizer, sequence_length


def load_run_model(path: str | Path, model_name: str | None = None):
    """(model, tokenizer, config) of a run, its latest checkpoint restored.

    Builds under the caller's dtype policy: inference callers set float32 first; training
    (which restores source runs inside its strategy scope) keeps its own."""
    run = RunDir(path)
    config = run.load_config(expect_model=model_name)
    tokenizer = load_tokenizer(run.tokenizer_path)
    model = build_model(config, tokenizer.vocabulary_size())
    model.build_for_sampling(int(config["training"]["sequence_length"]))
    run.restore(tf.train.Checkpoint(model=model), partial=True)
    return model, tokenizer, config


SAMPLE_CHUNK = 64  # examples per model call: bounded memory for any -n


def initial_noise(count, shape, seed, chunk=0):
    """The sampling noise of ``count`` examples for a seed: chunk ``chunk`` of a sampling run
    (the first chunk's is the noise every earlier version drew for the seed)."""
    key = tf.stack([tf.cast(seed, tf.int32), tf.cast(chunk, tf.int32)])
    return tf.random.stateless_normal([count, *shape], seed=key)


def sample_in_chunks(model, tokenizer, prompts, seed, negative=None, image=None, mask=None, **options):
    """uint8 images (N, 72, 72, 4) for a string tensor of N prompts, SAMPLE_CHUNK at a time, in
    a ``tf.while_loop``: what a SavedModel endpoint runs. An empty batch gives an empty batch.
    ``negative``: one negative prompt's features, for every image; ``image`` (72, 72, 4) in
    [-1, 1] and ``mask`` (72, 72, 1): one starting image and what to redraw of it, for every
    image (``emojify`` and ``inpaint``; ``options`` then holds their strength)."""
    count = tf.shape(prompts)[0]
    chunks = (count + SAMPLE_CHUNK - 1) // SAMPLE_CHUNK

    def body(c, out):
        start = c * SAMPLE_CHUNK
        end = tf.minimum(start + SAMPLE_CHUNK, count)
        noise = initial_noise(end - start, model.noise_shape, seed, c)
        rows = {name: _rows(value, end - start) for name, value in
                (("negative", negative), ("init_image", image), ("mask", mask)) if value is not None}
        images = to_uint8_tensor(model.sample(tokenizer(prompts[start:end]), noise, **options, **rows))
        return c + 1, out.write(c, images)

    images = tf.TensorArray(tf.uint8, size=chunks, infer_shape=False,
                            element_shape=[None, IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
    _, images = tf.while_loop(lambda c, out: c < chunks, body, [tf.constant(0), images])
    return tf.cond(chunks > 0, images.concat,
                   lambda: tf.zeros([0, IMAGE_SIZE, IMAGE_SIZE, CHANNELS], tf.uint8))


def _rows(features, count):
    """One prompt's features (D,) repeated for ``count`` images."""
    return tf.repeat(features[None], count, 0)


class TextToImagePipeline:
    def __init__(self, model, tokenizer, config: dict):
        if not model.is_generator:
            raise RunError(f"a {config.get('model')!r} model generates nothing from text: {model.component_hint}")
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.sequence_length = sequence_length(tokenizer)

    @classmethod
    def from_run(cls, path: str | Path, model_name: str | None = None) -> TextToImagePipeline:
        """Rebuild the model from config.json and restore its latest checkpoint (EMA weights)."""
        import keras

        keras.config.set_dtype_policy("float32")  # inference in float32: exact and portable
        return cls(*load_run_model(path, model_name))

    @classmethod
    def from_preset(cls, name_or_path: str | Path = DEFAULT_PRESET) -> TextToImagePipeline:
        """A shipped preset by name, or a preset folder (``<run>/preset``)."""
        import keras

        keras.config.set_dtype_policy("float32")
        return cls(*load_preset(name_or_path, sampling_only=True))

    @property
    def options(self) -> dict:
        """The sampling options this model takes, with their defaults."""
        if "_options" not in self.__dict__:
            config = self.model.get_config()
            self._options = {k: config[k] for k in SAMPLING_OPTIONS if k in config}
            if getattr(self.model, "styles", ()):  # a style-conditioned model: "any" unless asked
                self._options["style"] = "any"
            if self.takes_negative_prompt:
                self._options["negative_prompt"] = ""
        return dict(self._options)

    @property
    def takes_negative_prompt(self) -> bool:
        """Whether sampling can guide away from a prompt: a model sampled with classifier-free
        guidance (a diffusion model or ``vq_transformer``; a distilled student is not)."""
        return bool(getattr(self.model, "takes_negative_prompt", False))

    @property
    def styles(self) -> tuple[str, ...]:
        """The style names ``sample(..., style=...)`` takes; empty for a model without styles."""
        return tuple(getattr(self.model, "styles", ()))

    def check_options(self, options: dict) -> dict:
        """``options`` checked as sampling takes them, in one line each before any work: values
        in range, keys this model takes (a misspelt one was a ``TypeError`` deep in sampling)
        and the style (``check_style``) and negative prompt (``check_negative_prompt``)."""
        check_sampling_options(options)
        options = self.check_negative_prompt(options)
        unknown = sorted(set(options) - set(self.options) - {"style"})
        if unknown:
            takes = ", ".join(self.options) or "none"
            raise UsageError(f"sampling option {unknown[0]!r}: a {self.config.get('model')} model does not take it "
                             f"(its options: {takes})")
        return self.check_style(options)

    def check_negative_prompt(self, options: dict) -> dict:
        """``options`` with its "negative_prompt" read as a prompt (emoji by name), left out
        when empty; a one-line error for a model that cannot take one or for a value that is
        not one string."""
        negative = options.get("negative_prompt")
        if negative is None or isinstance(negative, str) and not negative.strip():
            return {k: v for k, v in options.items() if k != "negative_prompt"}
        if not isinstance(negative, str):
            raise UsageError(f"negative_prompt {negative!r:.40}: give one string; it applies to every image, "
                             "e.g. 'glasses'")
        if not self.takes_negative_prompt:
            if hasattr(self.model, "sample_conditions"):
                raise UsageError("negative_prompt needs classifier-free guidance, which this distilled model does "
                                 f"not use; use the model it was distilled from, such as {GUIDED_PRESET}")
            raise UsageError(f"negative_prompt needs classifier-free guidance and a {self.config.get('model')} model "
                             f"samples without it; use a diffusion model such as {GUIDED_PRESET}")
        guidance = options.get("guidance_scale", self.options.get("guidance_scale"))
        if guidance == 1:
            warn_at_caller("negative_prompt has no effect at guidance_scale 1: guidance is what pushes away from it")
        return {**options, "negative_prompt": prompt_list(negative.strip())[0]}

    def _negative_features(self, options: dict, style=None):
        """Pops the checked "negative_prompt" from ``options``: what the model reads for it (one
        row: a diffusion model's features, a ``vq_transformer``'s tokens), or None."""
        negative = options.pop("negative_prompt", None)
        if negative is None:
            return None
        tokens = self.tokenizer(tf.constant([negative], tf.string))
        style = style if self.styles and isinstance(style, str) else None
        return self.model.negative_condition(tokens, style=style)[0]

    def check_style(self, options: dict) -> dict:
        """``options`` without a "style" the model cannot take; a one-line error for a real one."""
        style = options.get("style")
        if style is None:
            return options
        if self.styles:
            if isinstance(style, str):
                self.model.style_ids(style, 1)  # an unknown name fails here, before any sampling
            return options
        if style not in ("", "any"):
            raise UsageError(f"style {style!r}: this {self.config.get('model')} model has no styles; "
                             f"leave style out, or draw with one trained on styles ({STYLES_PRESET})")
        return {k: v for k, v in options.items() if k != "style"}

    def trace_text(self) -> TextToImagePipeline:
        """From now on tokenise and encode prompts through one traced graph each, and trace them
        now: seconds once, then ~0.3 s less per call (``text/eager_graph.py``, measured in
        docs/performance.md). For a process that answers many prompts, as the app; a single
        ``generate`` is faster without. Returns the pipeline."""
        from emoji_t2i.text.minilm import MiniLM

        encoder = getattr(self.model, "text_encoder", None)
        for layer in (self.tokenizer, encoder):
            if layer is not None:
                trace_eager_calls(layer)
        ids = self.tokenizer(tf.constant(["smiling face"]))
        if isinstance(encoder, MiniLM):
            encoder(ids)
        return self

    def check_prompts(self, prompts: list[str]) -> None:
        if not self.model.conditional:
            warn_at_caller(f"{self.config.get('model')} is unconditional: the prompts are ignored (the seed "
                           "chooses the emoji); train with --set conditional=true to steer it by text")
            return
        for prompt, known in zip(prompts, known_fractions(self.tokenizer, prompts), strict=True):
            if known == 0.0:
                warn_at_caller(f"prompt {prompt[:60]!r} has no word the model knows; the image will not follow it")

    def sample(self, prompts, seed: int = 0, n: int = 1, progress=None, **options) -> np.ndarray:
        """(len(prompts) * n, 72, 72, 4) uint8; the n samples of a prompt are consecutive.
        ``prompts``: a list of strings, or one string for one prompt; emoji in them are read as
        their names ("🐙 wearing a 🎩" is "octopus wearing a top hat").

        ``options``: ``num_steps``, ``guidance_scale``, ``sampler``, ``negative_prompt`` (one
        string, guided away from for every image) for a diffusion model, and
        ``style`` (one of ``styles``, or "any") for one conditioned on styles;
        ``num_steps``, ``guidance_scale``, ``temperature``, ``top_k``, ``negative_prompt`` for
        ``vq_transformer``;
        none for a GAN or VAE. ``progress``: called once per sampling step of each chunk of
        ``SAMPLE_CHUNK`` images (``sampling_calls`` counts them). No prompts give no images."""
        chunks = [images for _, images in self.iter_samples(prompts, seed, n, progress, **options)]
        return np.concatenate(chunks) if chunks else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, CHANNELS), np.uint8)

    def iter_samples(self, prompts, seed: int = 0, n: int = 1, progress=None, **options):
        """``sample``, a chunk at a time: yields (index of the chunk's first image, uint8 images),
        so that a caller writing files holds one chunk in memory, whatever ``n``."""
        prompts = prompt_list(prompts)
        seed = check_seed(seed)
        n = check_count(n)
        options = self.check_options(options)
        if not prompts:
            return
        self.check_prompts(prompts)
        negative = self._negative_features(options, options.get("style"))
        if progress is not None and "num_steps" in self.options:
            options["callback"] = progress
        total = len(prompts) * n
        for c, start in enumerate(range(0, total, SAMPLE_CHUNK)):
            part = [prompts[i // n] for i in range(start, min(start + SAMPLE_CHUNK, total))]
            noise = initial_noise(len(part), self.model.noise_shape, seed, c)
            tokens = self.tokenizer(tf.constant(part, tf.string))
            if negative is not None:
                options["negative"] = _rows(negative, len(part))
            yield start, to_uint8(self.model.sample(tokens, noise, **options))

    def sample_many(self, requests, progress=None, **options) -> list[np.ndarray]:
        """Several people's ``(prompt, n, seed)`` requests in as few model calls as fit in chunks
        of ``SAMPLE_CHUNK`` images: what a server batching its users runs. Each request gets
        the images ``sample([prompt], seed=seed, n=n)`` gives it alone, up to float rounding in
        a larger batch (at most 1/255 in tests/pipelines/test_editing.py); n <= SAMPLE_CHUNK."""
        options = self.check_options(options)
        checked = []
        for index, request in enumerate(requests):
            if not (isinstance(request, tuple | list) and len(request) == 3):
                raise UsageError(f"requests[{index}] {request!r:.60}: give (prompt, n, seed) tuples, "
                                 "e.g. [('crying cat', 4, 0)]")
            prompt, n, seed = request
            checked.append((prompt_list([prompt])[0], check_count(n), check_seed(seed)))
            if n > SAMPLE_CHUNK:
                raise UsageError(f"n {n}: a batched request takes 1 to {SAMPLE_CHUNK} images")
        requests = checked
        if not requests:
            return []
        if progress is not None and "num_steps" in self.options:
            options["callback"] = progress
        self.check_prompts([p for p, _, _ in requests])
        negative = self._negative_features(options, options.get("style"))
        groups, current = [], []
        for index, request in enumerate(requests):
            if current and sum(requests[i][1] for i in current) + request[1] > SAMPLE_CHUNK:
                groups.append(current)
                current = []
            current.append(index)
        groups.append(current)
        out = [None] * len(requests)
        for group in groups:
            prompts = [requests[i][0] for i in group for _ in range(requests[i][1])]
            noise = tf.concat([initial_noise(requests[i][1], self.model.noise_shape, requests[i][2]) for i in group], 0)
            if negative is not None:
                options["negative"] = _rows(negative, len(prompts))
            images = to_uint8(self.model.sample(self.tokenizer(tf.constant(prompts, tf.string)), noise, **options))
            start = 0
            for i in group:
                out[i], start = images[start:start + requests[i][1]], start + requests[i][1]
        return out

    def sampling_calls(self, count: int, num_steps: int | None = None) -> int:
        """Model calls ``sample`` makes for ``count`` images (what a progress bar counts)."""
        steps = num_steps if num_steps is not None else self.options.get("num_steps", 1)
        return math.ceil(count / SAMPLE_CHUNK) * int(steps)

    # --- editing: diffusion models only ----------------------------------------------------
    def mashup(self, first: str, second: str, mix=0.5, seed: int = 0, n: int = 1,
               method: str = DEFAULT_MASHUP, progress=None, **options) -> np.ndarray:
        """Two prompts -> ``n`` mash-ups per mix value, (len(mix) * n, 72, 72, 4) uint8.

        ``mix`` (a number or a list, each in [0, 1]) moves from ``first`` (0) to ``second``
        (1); every mix value gets the same ``n`` noises, those ``sample`` draws for the seed, so
        mix 0 and 1 are exactly ``sample([first])`` and ``sample([second])`` and a slider
        moves one emoji. Methods (docs/app.md compares them on 16 pairs):

        - ``compose``: composable diffusion (Liu et al. 2022), guidance towards both prompts,
          weighted 1 - mix and mix, in one U-Net call per step.
        - ``interpolate``: one condition, the spherical interpolation of the two prompts'
          sentence embeddings.
        - ``sdedit``: both prompts' samples blended (premultiplied, weights 1 - mix and mix),
          then SDEdit at strength ``SDEDIT_MASHUP_STRENGTH`` under the ``compose`` guidance.

            >>> pipe.mashup("jack-o-lantern", "smiling face with horns", mix=[0, 0.5, 1], n=2).shape
            (6, 72, 72, 4)
        """
        self._need_editing("a mash-up")
        if method not in MASHUP_METHODS:
            raise UsageError(f"mash-up method {method!r}: use one of {', '.join(MASHUP_METHODS)}")
        mixes = check_fractions(mix, "mix")
        options = self.check_options(options)
        options["negative"] = self._negative_features(options, options.get("style"))
        a, b = self.text_features([self._prompt(first), self._prompt(second)], options.pop("style", None))
        ends = {}

        def end(m):  # the plain samples of either prompt, once (sdedit starts from their blend)
            if m not in ends:
                ends[m] = self._edit(lambda start, count: ([(_rows(b if m else a, count), 1.0)], None),
                                     seed, n, progress, dict(options))
            return ends[m]

        def conditions(m, start, count):
            rows_a, rows_b = _rows(a, count), _rows(b, count)
            if method == "interpolate":
                return [(slerp(rows_a, rows_b, m), 1.0)], None
            composed = [(rows_a, 1.0 - m), (rows_b, m)]
            if method == "compose":
                return composed, None
            blend = blend_premultiplied(end(0.0)[start:start + count], end(1.0)[start:start + count], m)
            return composed, blend

        out = []
        for m in mixes:
            if m in (0.0, 1.0):
                out.append(end(m))
                continue
            edit_options = {**options, "strength": SDEDIT_MASHUP_STRENGTH} if method == "sdedit" else options
            out.append(self._edit(lambda start, count, m=m: conditions(m, start, count), seed, n, progress,
                                  dict(edit_options)))
        return np.concatenate(out)

    def emojify(self, image, prompt: str, strength: float = EMOJIFY_STRENGTH, seed: int = 0, n: int = 1,
                progress=None, **options) -> np.ndarray:
        """An image (a photo, any size, RGB or RGBA uint8) -> ``n`` emoji, (n, 72, 72, 4) uint8.

        SDEdit (Meng et al. 2022): the image is centre-cropped and resized to 72x72 (an opaque
        photo cut to a soft disc, see ``prepare_photo``), noised to t = ``strength`` and denoised
        towards ``prompt`` over ceil(num_steps * strength) steps. 0 returns the image, 1 ignores
        it (``sample([prompt])``'s images); at the default 0.9 a portrait becomes a person emoji
        with the photo's hair and skin colours; below 0.8 the result stays a photo.

            >>> photo = np.asarray(Image.open("me.jpg"))
            >>> pipe.emojify(photo, "person", n=4).shape
            (4, 72, 72, 4)
        """
        self._need_editing("emojify")
        return self._edit_image(image, prompt, strength, None, seed, n, progress, options)

    def inpaint(self, image, prompt: str, mask, strength: float = 1.0, seed: int = 0, n: int = 1,
                progress=None, **options) -> np.ndarray:
        """Redraw part of an image (an emoji, or a photo framed as ``emojify`` frames it) after
        ``prompt`` and keep the rest: ``n`` images, (n, 72, 72, 4) uint8.

        ``mask``: what to redraw, a region's name ("eyes", "mouth", "top", "bottom", "left",
        "right": bands of an emoji face, edges feathered) or an array, 1 (or 255) where to
        redraw (``editing.redraw_mask``). Each sampling step's clean-image estimate is the
        image where the mask is 0, so the network draws the masked part to fit what is kept
        (``DiffusionModel.sample_conditions``). ``strength`` < 1 also starts from the image
        noised to that time, as ``emojify`` does, rather than from pure noise.

            >>> face = pipe.sample("neutral face", seed=3)[0]
            >>> pipe.inpaint(face, "sleeping face", mask="eyes", n=4).shape
            (4, 72, 72, 4)
        """
        self._need_editing("inpaint")
        return self._edit_image(image, prompt, strength, redraw_mask(mask), seed, n, progress, options)

    def _edit_image(self, image, prompt, strength, mask, seed, n, progress, options) -> np.ndarray:
        """``emojify`` (``mask`` None) and ``inpaint``: one image, one prompt, n seeds."""
        (strength,) = check_fractions(strength, "strength")
        start_image = prepare_photo(image)
        options = self.check_options(options)
        options["negative"] = self._negative_features(options, options.get("style"))
        features = self.text_features([self._prompt(prompt)], options.pop("style", None))
        if mask is not None:
            options["mask"] = tf.constant(mask)
        return self._edit(lambda start, count: ([(_rows(features[0], count), 1.0)],
                                                np.repeat(start_image[None], count, 0)),
                          seed, n, progress, {**options, "strength": strength})

    def text_features(self, prompts, style=None) -> tf.Tensor:
        """(len(prompts), D) float32 (or packed conditions): what the model's U-Net reads; with
        ``style`` (a style-conditioned model) in that style."""
        tokens = self.tokenizer(tf.constant(prompt_list(prompts), tf.string))
        return self.model.encode(tokens, style=style) if self.styles else self.model.encode(tokens)

    def _need_editing(self, what: str) -> None:
        if not hasattr(self.model, "sample_conditions"):
            raise UsageError(f"{what} needs a diffusion model and {self.config.get('model')!r} is not one; "
                             "use the shipped diffusion-emoji72 or a diffusion run")

    def _prompt(self, prompt) -> str:
        if not isinstance(prompt, str):
            raise UsageError(f"prompt {prompt!r:.40} is {type(prompt).__name__}: give words, e.g. 'crying cat'")
        prompt = prompt_list(prompt.strip())[0]
        if not prompt:
            raise UsageError("an empty prompt: give words, e.g. 'crying cat'")
        self.check_prompts([prompt])
        return prompt

    def _edit(self, conditions, seed, n, progress, options) -> np.ndarray:
        """n images in chunks, with ``sample``'s noise for the seed: ``conditions(start, count)``
        gives a chunk's [(features, weight)] and its uint8 starting images (or None)."""
        seed = check_seed(seed)
        n = check_count(n)
        check_sampling_options(options)
        if progress is not None:
            options["callback"] = progress
        negative = options.pop("negative", None)
        mask = options.pop("mask", None)
        out = []
        for c, start in enumerate(range(0, n, SAMPLE_CHUNK)):
            count = min(SAMPLE_CHUNK, n - start)
            noise = initial_noise(count, self.model.noise_shape, seed, c)
            chunk_conditions, init = conditions(start, count)
            init = None if init is None else to_unit_range(init)
            rows = None if negative is None else _rows(negative, count)
            redraw = None if mask is None else _rows(mask, count)
            out.append(to_uint8(self.model.sample_conditions(chunk_conditions, noise, init_image=init, negative=rows,
                                                             mask=redraw, **options)))
        return np.concatenate(out)

    def __call__(self, prompts, seed: int = 0, n: int = 1, **options) -> np.ndarray:
        return self.sample(prompts, seed=seed, n=n, **options)
