"""``python -m emoji_t2i.export (--run DIR | --preset NAME) --out DIR``: a TensorFlow SavedModel.

Endpoints (tokenisation, emoji read as their names, and the whole sampling loop are inside the graph,
so loading needs only TensorFlow):

    m = tf.saved_model.load("export/diffusion")
    m.serve(tf.constant(["crying cat"]), 0)          # uint8 [N, 72, 72, 4]; seed 0..2**31-1
    m.sample(tf.constant(["crying cat"]), 0, tf.constant(30), tf.constant(4.0))

``sample(prompts, seed, num_steps, guidance_scale)`` exists for diffusion models; ``serve``
uses their default options (any style); a model conditioned on styles adds
``sample_style(prompts, seed, style)`` (a style name or "any"). One sampled with classifier-free
guidance adds ``sample_negative(prompts, seed, negative_prompt)`` (one string, guided away from for
every image; an empty one is none). The same seed gives the in-process pipeline's images.

A diffusion model also edits one 72x72 RGBA image (uint8 [72, 72, 4]; frame a photo with
``emoji_t2i.pipelines.editing.prepare_photo``), as the pipeline's methods of the same names:

    m.emojify(image, "person", 0, 4, 0.9)                # seed, n, strength: SDEdit
    m.inpaint(image, "sleeping face", mask, 0, 4, 1.0)   # mask float32 [72, 72], 1 where to redraw

``--no-editing`` leaves those two out: they trace a sampler of their own, so without them the
SavedModel is smaller and loads faster (docs/app.md, "Editing in a SavedModel").

A text-image encoder (``clip``, ``damsm``, ``char_cnn_rnn``) exports its two embeddings:

    m.embed_text(tf.constant(["crying cat"]))      # float32 [N, D] unit vectors
    m.embed_images(uint8_images)                    # uint8 [N, 72, 72, 4] -> float32 [N, D]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def export_pipeline(pipe, out: Path, editing: bool = True) -> Path:
    """A generator's SavedModel in ``out``; ``editing`` False leaves a diffusion model's
    ``emojify`` and ``inpaint`` out (their own traced sampler: a larger file, a slower load)."""
    import keras
    import tensorflow as tf

    from emoji_t2i.data.emoji_names import spelling_table
    from emoji_t2i.data.emoji_spelling import EmojiSpeller
    from emoji_t2i.networks.condition import ANY_STYLE
    from emoji_t2i.pipelines.checks import MAX_SEED
    from emoji_t2i.pipelines.text_to_image import sample_in_chunks

    model, tokenizer = pipe.model, pipe.tokenizer
    archive = keras.export.ExportArchive()
    for layer in model.sampling_layers():  # only what sampling needs: no D, no optimizers
        archive.track(layer)
    archive.track(tokenizer)  # its vocabulary lookup table must travel with the graph
    speller = EmojiSpeller(spelling_table())  # "🐙 wearing a 🎩" as the pipeline reads it
    archive.track(speller)
    prompts_spec = tf.TensorSpec([None], tf.string, name="prompts")
    # int64, so that a Python int of any size arrives intact and a seed out of range is an
    # error rather than another seed's images
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")

    def checked(seed):
        tf.debugging.assert_non_negative(seed, message=f"seed must be from 0 to {MAX_SEED}")
        tf.debugging.assert_less_equal(seed, tf.constant(MAX_SEED, tf.int64),
                                       message=f"seed must be from 0 to {MAX_SEED}")
        return tf.cast(seed, tf.int32)

    if "num_steps" not in pipe.options:
        @tf.function(input_signature=[prompts_spec, seed_spec])
        def serve(prompts, seed):
            return sample_in_chunks(model, tokenizer, speller(prompts), checked(seed))

        archive.add_endpoint("serve", serve)
    else:
        # Every endpoint calls one traced sampler with its options as inputs, so that the text
        # encoder, the denoiser and the sampling loop are traced once rather than once per
        # endpoint (and once more each as the SavedModel is written). An empty negative prompt
        # is none: its rows read the null caption (keep 0). Editing (a start image, its strength
        # and a mask) has a sampler of its own: as inputs of this one, strength 1 and a mask of
        # ones gave the same images, but `serve` ran 5-16 % slower per emoji (batch 1 to 16).
        takes_negative = pipe.takes_negative_prompt

        @tf.function(input_signature=[prompts_spec, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([], tf.string)])
        def draw(prompts, seed, num_steps, guidance_scale, style, negative_prompt):  # style: an index or ANY_STYLE
            options = {"style": style} if pipe.styles else {}
            if takes_negative:
                negative = tokenizer(speller(negative_prompt[None]))
                options["negative"] = model.negative_condition(negative, style=style[None])[0]
                options["negative_keep"] = tf.cast(tf.strings.length(tf.strings.strip(negative_prompt)) > 0,
                                                   tf.float32)
            return sample_in_chunks(model, tokenizer, speller(prompts), seed, num_steps=num_steps,
                                    guidance_scale=guidance_scale, **options)

        default_steps = tf.constant(int(model.num_steps), tf.int32)
        default_guidance = tf.constant(float(model.guidance_scale), tf.float32)
        any_style = tf.constant(ANY_STYLE, tf.int32)
        no_negative = tf.constant("")

        @tf.function(input_signature=[prompts_spec, seed_spec])
        def serve(prompts, seed):
            return draw(prompts, checked(seed), default_steps, default_guidance, any_style, no_negative)

        archive.add_endpoint("serve", serve)

        @tf.function(input_signature=[prompts_spec, seed_spec,
                                      tf.TensorSpec([], tf.int32, name="num_steps"),
                                      tf.TensorSpec([], tf.float32, name="guidance_scale")])
        def sample(prompts, seed, num_steps, guidance_scale):
            tf.debugging.assert_positive(num_steps, message="num_steps must be at least 1")
            tf.debugging.assert_all_finite(guidance_scale, "guidance_scale must be a finite number")
            return draw(prompts, checked(seed), num_steps, guidance_scale, any_style, no_negative)

        archive.add_endpoint("sample", sample)
        if pipe.styles:  # a style-conditioned diffusion model: the style by name, "any" for none
            names = tf.constant(list(pipe.styles))

            @tf.function(input_signature=[prompts_spec, seed_spec, tf.TensorSpec([], tf.string, name="style")])
            def sample_style(prompts, seed, style):
                known = tf.equal(names, style)
                tf.debugging.Assert(tf.reduce_any(known) | tf.equal(style, "any"),
                                    ["unknown style", style, "use one of", names, "or any"])
                index = tf.where(tf.reduce_any(known), tf.argmax(tf.cast(known, tf.int32), output_type=tf.int32),
                                 any_style)
                return draw(prompts, checked(seed), default_steps, default_guidance, index, no_negative)

            archive.add_endpoint("sample_style", sample_style)
        if takes_negative:
            @tf.function(input_signature=[prompts_spec, seed_spec,
                                          tf.TensorSpec([], tf.string, name="negative_prompt")])
            def sample_negative(prompts, seed, negative_prompt):
                return draw(prompts, checked(seed), default_steps, default_guidance, any_style, negative_prompt)

            archive.add_endpoint("sample_negative", sample_negative)
        if editing and hasattr(model, "sample_conditions"):
            add_editing_endpoints(archive, model, tokenizer, speller, seed_spec, checked)
    if "truncation_psi" in pipe.options:  # StyleGAN: the truncation trick
        @tf.function(input_signature=[prompts_spec, seed_spec, tf.TensorSpec([], tf.float32, name="truncation_psi")])
        def sample_truncated(prompts, seed, truncation_psi):
            tf.debugging.assert_all_finite(truncation_psi, "truncation_psi must be a finite number")
            return sample_in_chunks(model, tokenizer, prompts, checked(seed), truncation_psi=truncation_psi)

        archive.add_endpoint("sample", sample_truncated)
    write_once(archive, out)
    return out


def add_editing_endpoints(archive, model, tokenizer, speller, seed_spec, checked) -> None:
    """``emojify`` and ``inpaint``, as the pipeline's methods, on one traced sampler whose
    start image, strength and mask are inputs (a mask of ones redraws everything: ``emojify``)."""
    import tensorflow as tf

    from emoji_t2i import CHANNELS, IMAGE_SIZE
    from emoji_t2i.data.images import to_unit_range
    from emoji_t2i.pipelines.text_to_image import sample_in_chunks

    image_spec = tf.TensorSpec([None, None, None], tf.uint8, name="image")
    prompt_spec = tf.TensorSpec([], tf.string, name="prompt")
    count_spec = tf.TensorSpec([], tf.int32, name="n")
    strength_spec = tf.TensorSpec([], tf.float32, name="strength")
    mask_spec = tf.TensorSpec([None, None], tf.float32, name="mask")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([IMAGE_SIZE, IMAGE_SIZE, CHANNELS], tf.uint8),
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([IMAGE_SIZE, IMAGE_SIZE], tf.float32)])
    def redraw(prompts, seed, image, strength, mask):
        start = to_unit_range(tf.cast(image, tf.float32))
        return sample_in_chunks(model, tokenizer, speller(prompts), seed, image=start, mask=mask[..., None],
                                strength=strength)

    def shaped(value, shape, message):
        """``value`` with its static ``shape``; while it has another, zeros and a failed check
        (run first, so that its line is the error rather than a reshape's)."""
        fits = tf.reduce_all(tf.equal(tf.shape(value), shape))
        tf.debugging.Assert(fits, [message])
        return tf.cond(fits, lambda: tf.reshape(value, shape), lambda: tf.zeros(shape, value.dtype))

    def checked_edit(image, prompt, seed, count, strength, mask):
        image = shaped(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS], (
            f"image must be one {IMAGE_SIZE}x{IMAGE_SIZE} RGBA frame, uint8 [{IMAGE_SIZE}, {IMAGE_SIZE}, "
            f"{CHANNELS}]: an emoji, or a photo framed by emoji_t2i.pipelines.editing.prepare_photo"))
        tf.debugging.assert_non_negative(count, message="n must be 0 or more")
        strength_message = "strength must be a number from 0 (keep the image) to 1 (ignore it)"
        tf.debugging.assert_all_finite(strength, strength_message)
        tf.debugging.assert_greater_equal(strength, 0.0, message=strength_message)
        tf.debugging.assert_less_equal(strength, 1.0, message=strength_message)
        return redraw(tf.fill([tf.maximum(count, 0)], prompt), checked(seed), image, strength, mask)

    @tf.function(input_signature=[image_spec, prompt_spec, seed_spec, count_spec, strength_spec])
    def emojify(image, prompt, seed, n, strength):
        return checked_edit(image, prompt, seed, n, strength, tf.ones([IMAGE_SIZE, IMAGE_SIZE]))

    @tf.function(input_signature=[image_spec, prompt_spec, mask_spec, seed_spec, count_spec, strength_spec])
    def inpaint(image, prompt, mask, seed, n, strength):
        message = f"mask must be [{IMAGE_SIZE}, {IMAGE_SIZE}] floats from 0 (keep) to 1 (redraw)"
        mask = shaped(mask, [IMAGE_SIZE, IMAGE_SIZE], message)
        tf.debugging.assert_all_finite(mask, message)
        tf.debugging.assert_greater_equal(mask, 0.0, message=message)
        tf.debugging.assert_less_equal(mask, 1.0, message=message)
        tf.debugging.assert_greater(tf.reduce_max(mask), 0.5 / 255.0, message=(
            "the mask marks nothing to redraw: make it 1 where the emoji should change"))
        return checked_edit(image, prompt, seed, n, strength, mask)

    archive.add_endpoint("emojify", emojify)
    archive.add_endpoint("inpaint", inpaint)


def write_once(archive, out: Path) -> None:
    """``archive.write_out(out)``, each weight written once.

    Keras 3.15's ``track(layer)`` lists the layer's ``keras.Variable`` wrappers, while the
    endpoints capture the ``tf.Variable`` inside each: two objects, which a checkpoint cannot
    tell are one, so every weight was written twice and loaded twice (keras-team/keras#23553;
    206 MB of variables for the default preset's 103 MB). Listing the ``tf.Variable``
    themselves makes them one object; ``tests/training/test_reliability.py`` counts what is
    stored."""
    import keras

    trackable = getattr(archive, "_tf_trackable", None)  # private: a Keras without it writes twice, still loads
    for name in ("variables", "trainable_variables", "non_trainable_variables"):
        held = getattr(trackable, name, None)
        if held is not None:
            setattr(trackable, name, [v.value if isinstance(v, keras.Variable) else v for v in held])
    archive.write_out(str(out), verbose=False)


def export_encoder(model, tokenizer, out: Path) -> Path:
    """A retrieval component's SavedModel: ``embed_text(prompts)`` and ``embed_images(images)``."""
    import keras
    import tensorflow as tf

    from emoji_t2i.data.emoji_names import spelling_table
    from emoji_t2i.data.emoji_spelling import EmojiSpeller

    archive = keras.export.ExportArchive()
    for layer in model.sampling_layers():
        archive.track(layer)
    archive.track(tokenizer)
    speller = EmojiSpeller(spelling_table())
    archive.track(speller)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts")])
    def embed_text(prompts):
        return tf.cast(model.embed_text(tokenizer(speller(prompts))), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 72, 72, 4], tf.uint8, name="images")])
    def embed_images(images):
        return tf.cast(model.embed_images(tf.cast(images, tf.float32) / 127.5 - 1.0), tf.float32)

    archive.add_endpoint("embed_text", embed_text)
    archive.add_endpoint("embed_images", embed_images)
    write_once(archive, out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a run directory written by train")
    source.add_argument("--preset", help="a shipped preset's name or a preset folder")
    p.add_argument("--out", required=True, type=Path, help="folder to write")
    p.add_argument("--format", choices=("savedmodel", "preset"), default="savedmodel",
                   help="a SavedModel (default) or a preset folder (what emoji_t2i/presets/ ships)")
    p.add_argument("--no-editing", action="store_true",
                   help="diffusion: leave emojify and inpaint out, for a smaller SavedModel that loads faster")
    args = p.parse_args(argv)
    from emoji_t2i.console import check_writable, quiet_tensorflow

    quiet_tensorflow()
    import keras

    from emoji_t2i.errors import EmojiT2IError
    from emoji_t2i.pipelines import RunDir, RunError, TextToImagePipeline, load_preset, load_run_model, run_metadata

    try:
        check_writable(args.out, "--out", folder=True)  # before the model loads and traces
        if args.out.exists() and any(args.out.iterdir()):
            raise RunError(f"--out {args.out} is not empty; choose a new folder")
        keras.config.set_dtype_policy("float32")  # exported graphs compute in float32
        model, tokenizer, config = load_run_model(args.run) if args.run else load_preset(args.preset)
        if not model.is_generator and args.format == "savedmodel":
            if model.preview != "retrieval":
                raise RunError(f"a {config['model']!r} model exports as a preset only: --format preset")
            export_encoder(model, tokenizer, args.out)
            print(f"wrote SavedModel {args.out} (embed_text(prompts: string[N]) -> float32[N,D], "
                  "embed_images(uint8[N,72,72,4]) -> float32[N,D])")
            return 0
        pipe = TextToImagePipeline(model, tokenizer, config) if model.is_generator else None
        if args.format == "preset":
            from emoji_t2i.pipelines import save_preset

            written = Path(args.run or "") / "preset" / "metadata.json"
            if args.run and written.is_file():  # training wrote it beside the latest checkpoint
                metadata = json.loads(written.read_text())
            elif args.run:  # a run from before presets were written: epochs from the checkpoint
                import tensorflow as tf

                epoch = tf.Variable(0, dtype=tf.int64)
                tf.train.Checkpoint(epoch=epoch).read(RunDir(args.run).latest_checkpoint()).expect_partial()
                metadata = run_metadata(config, int(epoch.numpy()))
            else:
                metadata = config.get("metadata", {})
            save_preset(model, tokenizer, args.out, metadata)
            print(f"wrote preset {args.out} (load: TextToImagePipeline.from_preset({str(args.out)!r}))")
            return 0
        export_pipeline(pipe, args.out, editing=not args.no_editing)
    except (EmojiT2IError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    extra = ", sample(prompts, seed, num_steps, guidance_scale)" if "num_steps" in pipe.options else ""
    extra += f", sample_style(prompts, seed, style: one of {', '.join(pipe.styles)} or any)" if pipe.styles else ""
    extra += ", sample_negative(prompts, seed, negative_prompt)" if pipe.takes_negative_prompt else ""
    if hasattr(pipe.model, "sample_conditions") and not args.no_editing:
        extra += (", emojify(image: uint8[72,72,4], prompt, seed, n, strength), "
                  "inpaint(image, prompt, mask: float32[72,72], seed, n, strength)")
    print(f"wrote SavedModel {args.out} (serve(prompts: string[N], seed: int64 in 0..2**31-1) -> "
          f"uint8[N,72,72,4]{extra})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
