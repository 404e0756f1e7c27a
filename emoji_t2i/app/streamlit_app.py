"""The emoji_t2i web app (Streamlit): text -> emoji, mash-ups of two prompts, exploring between
prompts (or a StyleGAN's latent space), blending StyleGANs, and your photo as an emoji. Start it
with ``python -m emoji_t2i.app [--run DIR ...]``.

All inference is in ``emoji_t2i.app.inference``; this file is layout, plus the one lock per
model that makes people who generate at once wait in turn (docs/app.md measures why).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import threading

import numpy as np
import streamlit as st

from emoji_t2i.console import quiet_tensorflow

quiet_tensorflow()
from emoji_t2i.app import inference as inf  # noqa: E402  (after TensorFlow's quiet import)
from emoji_t2i.app.batching import SamplingQueue  # noqa: E402
from emoji_t2i.errors import EmojiT2IError  # noqa: E402


def extra_runs() -> list[str]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--run", action="append", default=[])
    return parser.parse_known_args(sys.argv[1:])[0].run


@st.cache_resource(show_spinner="Loading the model…")
def text_pipeline(source: str):
    return inf.load_text_pipeline(source)


@st.cache_resource(show_spinner="Loading the StyleGAN…")
def stylegan(source: str):
    return inf.load_stylegan(source)


@st.cache_data(show_spinner=False)
def sefa(source: str, k: int):
    return stylegan(source).directions(k)


@st.cache_resource
def model_lock(source: str) -> threading.Lock:
    """One per model and process: the editing tabs' calls on a model run one at a time."""
    return threading.Lock()


@st.cache_resource
def sampling_queue(source: str) -> SamplingQueue:
    """The Text tab's requests from every session, joined into batched model calls."""
    return SamplingQueue(text_pipeline(source))


@contextlib.contextmanager
def turn(source: str):
    lock = model_lock(source)
    if not lock.acquire(blocking=False):
        note = st.empty()
        note.info("Someone else is generating with this model; yours starts when theirs is done.")
        lock.acquire()
        note.empty()
    try:
        yield
    finally:
        lock.release()


def new_seed(key: str) -> None:
    """A seed input's value, drawn anew (a button's callback: it runs before the input is drawn)."""
    import random

    st.session_state[key] = random.SystemRandom().randrange(2**31 - 1)


def step_bar(total: int, text: str = "sampling"):
    """A progress bar and the callback that advances it once per sampling step."""
    bar = st.progress(0.0, text=text)
    calls = {"n": 0}

    def progress(*_):
        calls["n"] += 1
        bar.progress(min(1.0, calls["n"] / max(total, 1)), text=f"step {calls['n']}/{total}")

    return bar, progress


def diffusion_choice(runs, key: str):
    """(source, pipeline) of a diffusion model for the editing tabs, or (None, None)."""
    sources = inf.editing_sources(runs)
    if not sources:
        st.info("No diffusion model: train one (python -m emoji_t2i.train --model diffusion) and pass --run DIR.")
        return None, None
    label = st.selectbox("Model", list(sources), key=key)
    return sources[label], text_pipeline(sources[label])


def show(images, names, key: str, columns: int = 6, records=None) -> None:
    """A grid on a checkerboard (transparency visible), a PNG button per image, one zip;
    ``records``: what drew each image, written into its PNG."""
    cols = st.columns(columns)
    made = [None] * len(names) if records is None else records
    for i, (image, name) in enumerate(zip(images, names, strict=True)):
        with cols[i % columns]:
            st.image(inf.on_checkerboard(image, scale=2), caption=name)
            st.download_button("PNG", inf.png_bytes(image, made[i]), file_name=name, mime="image/png",
                               key=f"{key}-png-{i}")
    st.download_button("Download all (zip)", inf.zip_of_pngs(images, names, records), file_name=f"{key}.zip",
                       mime="application/zip", key=f"{key}-zip")


def load_png_settings(sources: dict) -> None:
    """The Text tab's settings from an uploaded PNG's record (an uploader's callback: it runs
    before the widgets are drawn, so they show the values)."""
    upload = st.session_state.get("text-png")
    if upload is None:
        return
    try:
        values, ignored = inf.settings_from_png(upload.getvalue(), upload.name, sources)
    except inf.AppInputError as e:
        st.session_state["text-png-note"] = ("warning", str(e))
        return
    st.session_state.update(values)
    rest = f"; not among this tab's controls: {', '.join(ignored)}" if ignored else ""
    st.session_state["text-png-note"] = ("info", f"Loaded the settings of {upload.name}{rest}.")


def text_tab(runs) -> None:
    sources = inf.text_model_sources(runs)
    if not sources:
        st.info("No text-to-emoji model: train one (python -m emoji_t2i.train) and pass --run DIR.")
        return
    with st.expander("Settings of a PNG"):
        st.file_uploader("A PNG from this app or from generate: its model, prompt, seed and settings", type=["png"],
                         key="text-png", on_change=load_png_settings, args=(sources,))
        kind, note = st.session_state.pop("text-png-note", (None, None))
        if note:
            (st.warning if kind == "warning" else st.info)(note)
    label = st.selectbox("Model", list(sources), key="text-model")
    pipe = text_pipeline(sources[label])
    prompt = st.text_input("Prompt", placeholder="crying cat", key="prompt",
                           help="Words, or emoji: each is read as its name (🐙 wearing a 🎩)")
    left, right, dice = st.columns([6, 6, 2], vertical_alignment="bottom")
    n = left.number_input("Images", 1, 16, 4, key="text-n")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="text-seed")
    # a Material icon, not the emoji: Streamlit serves its font, where a dice emoji needs the viewer's
    dice.button("New seed", icon=":material/casino:", key="text-new-seed", on_click=new_seed, args=("text-seed",),
                help="a random seed: other emoji for the same prompt", width="stretch")
    options = {}
    if "num_steps" in pipe.options:
        if getattr(pipe.model, "guidance_input", False):  # a distilled student: its own step grid only
            st.caption(f"Distilled: {int(pipe.options['num_steps'])} steps of one network call each")
        else:
            options["num_steps"] = st.slider("Sampling steps", 1, 50, int(pipe.options["num_steps"]), key="steps")
        options["guidance_scale"] = st.slider("Guidance scale", 0.0, 8.0, float(pipe.options["guidance_scale"]),
                                              0.5, key="guidance")
    if "condition_annealing" in pipe.options:
        variety = st.select_slider("Variety", list(inf.VARIETY), "as trained", key="variety",
                                   help="noise on the prompt in the first steps: more varied drawings, "
                                        "fewer of them the prompt's")
        options["condition_annealing"] = inf.VARIETY[variety]
    options.update(style_choice(pipe, "text-style"))  # a style-conditioned model: one of its emoji sets
    if "negative_prompt" in pipe.options:
        options["negative_prompt"] = st.text_input("Avoid", placeholder="blond hair", key="negative",
                                                   help="a negative prompt: guidance steers every image away from it")
    if st.button("Generate", key="generate", type="primary"):
        try:
            prompt, options = inf.text_request(pipe, prompt, **options)
        except inf.AppInputError as e:
            st.warning(str(e))
            return
        total = int(options.get("num_steps", pipe.options.get("num_steps", 1)))
        bar = st.progress(0.0, text="waiting for the model")
        request = sampling_queue(sources[label]).submit(prompt, n, seed, **options)
        while not request.done.wait(0.25):  # the worker thread samples; this thread draws the bar
            if request.steps_done:
                others = f" (with {request.batched_with - 1} other request(s))" if request.batched_with > 1 else ""
                bar.progress(min(1.0, request.steps_done / total), text=f"step {request.steps_done}/{total}{others}")
        bar.empty()
        try:
            images = request.result()
        except EmojiT2IError as e:
            st.warning(str(e))
            return
        slug = "_".join(prompt.lower().split())[:40]
        records = inf.text_records(sources[label], prompt, n, seed, options)
        show(images, [f"{slug}_seed{seed}_{i}.png" for i in range(len(images))], "text", records=records)
        st.caption("The same from a shell (each PNG records it: generate --from-png FILE draws it again)")
        st.code(records[0]["command"], language="bash", wrap_lines=True)


def stylegan_choice(runs, key: str, label: str = "StyleGAN", index: int = 0, prefer: str | None = None):
    """A StyleGAN select box: ``prefer`` (a shipped preset's name) first when it is there,
    else the ``index``-th source."""
    sources = inf.stylegan_sources(runs)
    if not sources:
        st.info("No StyleGAN preset or run: train one with python -m emoji_t2i.train --model stylegan.")
        return None, None
    names, targets = list(sources), list(sources.values())
    index = targets.index(prefer) if prefer in targets else min(index, len(names) - 1)
    name = st.selectbox(label, names, index=index, key=key)
    return sources[name], stylegan(sources[name])


def sliders(source: str, key: str, k: int = 5):
    directions = sefa(source, k)
    cols = st.columns(k)
    return directions, [cols[i].slider(f"direction {i}", -3.0, 3.0, 0.0, 0.5, key=f"{key}-dir{i}") for i in range(k)]


def style_choice(pipe, key: str) -> dict:
    """{"style": ...} from a picker for a style-conditioned model (any + its styles); {} otherwise."""
    return {"style": st.selectbox("Style", ["any", *pipe.styles], key=key)} if pipe.styles else {}


def mashup_tab(runs) -> None:
    from emoji_t2i.pipelines.editing_options import DEFAULT_MASHUP, MASHUP_METHODS

    source, pipe = diffusion_choice(runs, "mash-model")
    if pipe is None:
        return
    left, right = st.columns(2)
    first = left.text_input("First", "jack-o-lantern", key="mash-first")
    second = right.text_input("Second", "smiling face with horns", key="mash-second")
    mix = st.slider("Mix (0: first, 1: second)", 0.0, 1.0, 0.5, 0.05, key="mix")
    left, middle, right = st.columns(3)
    method = left.selectbox("Method", MASHUP_METHODS, MASHUP_METHODS.index(DEFAULT_MASHUP), key="mash-method")
    n = middle.number_input("Mash-ups", 1, 8, 4, key="mash-n")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="mash-seed")
    options = style_choice(pipe, "mash-style")
    if not st.button("Mash up", key="mashup", type="primary"):
        return
    steps = int(pipe.options["num_steps"])
    bar, progress = step_bar(3 * steps)
    try:
        with turn(source):
            images = inf.mashup(pipe, first, second, mix, n, seed, method, progress=progress, **options)
    except inf.AppInputError as e:
        bar.empty()
        st.warning(str(e))
        return
    bar.empty()
    st.caption("Each row: the first prompt · the mash-up · the second prompt (the same seed)")
    names = [f"{part}_mix{mix:g}_seed{seed}_{i // 3}.png" for i, part in
             zip(range(len(images)), ["first", "mashup", "second"] * int(n), strict=True)]
    made = inf.mashup_record(source, first, second, mix, method, n, seed, options)
    show(images, names, "mashup", columns=3, records=[made] * len(images))


def explore_tab(runs) -> None:
    mode = st.radio("Explore", ["Between two prompts (diffusion)", "StyleGAN latent space"], horizontal=True,
                    key="explore-mode")
    if mode.startswith("Between"):
        explore_prompts_panel(runs)
    else:
        explore_stylegan_panel(runs)


def explore_prompts_panel(runs) -> None:
    source, pipe = diffusion_choice(runs, "explore-diffusion-model")
    if pipe is None:
        return
    left, right = st.columns(2)
    first = left.text_input("From", "grinning face", key="explore-first")
    second = right.text_input("To", "crying cat face", key="explore-second")
    left, right = st.columns(2)
    mix = left.slider("Between the prompts", 0.0, 1.0, 0.0, 0.1, key="explore-mix")
    guidance = right.slider("Guidance scale", 0.0, 8.0, float(pipe.options["guidance_scale"]), 0.5,
                            key="explore-guidance")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="explore-prompt-seed")
    try:
        images = explored(source, first, second, mix, guidance, seed)
    except inf.AppInputError as e:
        st.warning(str(e))
        return
    show(images, [f"explore_mix{mix:g}_seed{seed}_{i}.png" for i in range(len(images))], "explore-prompts")


@st.cache_data(max_entries=64, show_spinner="Sampling…")
def explored(source: str, first: str, second: str, mix: float, guidance: float, seed: int):
    """Streamlit reruns every tab on each click: the Explore images are drawn once per setting."""
    with turn(source):
        return inf.explore_prompts(text_pipeline(source), first, second, mix, seed, 6, guidance_scale=guidance)


def explore_stylegan_panel(runs) -> None:
    source, pipe = stylegan_choice(runs, "explore-model")
    if pipe is None:
        return
    left, right = st.columns(2)
    seed = left.number_input("Seed", 0, 2**31 - 1, 0, key="explore-seed")
    psi = right.slider("Truncation ψ", 0.0, 1.0, 0.7, 0.05, key="psi")
    _, amounts = sliders(source, "explore")
    images = explored_stylegan(source, seed, psi, tuple(amounts))
    show(images, [f"stylegan_seed{seed}_{i}.png" for i in range(len(images))], "explore")


@st.cache_data(max_entries=64, show_spinner="Drawing…")
def explored_stylegan(source: str, seed: int, psi: float, amounts: tuple):
    with turn(source):
        return inf.explore(stylegan(source), seed, 8, psi, list(amounts), sefa(source, len(amounts)))


def blend_tab(runs) -> None:
    # The two vendor fine-tunes share one parent, so one w is the same emoji in both.
    first_source, first = stylegan_choice(runs, "blend-first", "Structure from (low resolutions)",
                                          prefer=inf.BLEND_PAIR[0])
    second_source, _ = stylegan_choice(runs, "blend-second", "Style from (high resolutions)", index=1,
                                       prefer=inf.BLEND_PAIR[1])
    if first is None:
        return
    level = st.select_slider("Keep the first model's layers up to", options=[9, 18, 36], value=18, key="level")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="blend-seed")
    try:
        images = blended(first_source, second_source, level, seed)
    except EmojiT2IError as e:
        st.warning(str(e))
        return
    st.caption("Each row: first model · blend · second model (the same w)")
    show(images, [f"blend{level}_seed{seed}_{i}.png" for i in range(len(images))], "blend", columns=3)


@st.cache_data(max_entries=32, show_spinner="Blending…")
def blended(first_source: str, second_source: str, level: int, seed: int):
    """A blend builds a whole StyleGAN: once per setting, not on every click in another tab."""
    with contextlib.ExitStack() as held:
        for source in sorted({first_source, second_source}):  # one order: two blends never deadlock
            held.enter_context(turn(source))
        return inf.blend(stylegan(first_source), stylegan(second_source), level, seed, 4)


def your_image_tab(runs) -> None:
    mode = st.radio("Make", ["An emoji of it (diffusion)", "A part of it redrawn (diffusion)",
                             "Its StyleGAN projection"], horizontal=True, key="image-mode")
    if mode.startswith("An emoji"):
        emojify_panel(runs)
    elif mode.startswith("A part"):
        inpaint_panel(runs)
    else:
        project_panel(runs)


def emojify_panel(runs) -> None:
    from emoji_t2i.pipelines.editing_options import EMOJIFY_STRENGTH

    source, pipe = diffusion_choice(runs, "emojify-model")
    if pipe is None:
        return
    upload = st.file_uploader("Your photo (PNG or JPEG; centre-cropped)", key="photo")
    prompt = st.text_input("What should it be?", "person", key="emojify-prompt")
    left, middle, right = st.columns(3)
    strength = left.slider("Strength (0: your photo, 1: ignore it)", 0.5, 1.0, EMOJIFY_STRENGTH, 0.05,
                           key="strength")
    n, seed, options = count_seed_and_style(pipe, middle, right, "emojify")
    if upload is None:
        st.info("Upload a photo (a portrait works best) to turn it into an emoji. Its colours carry over, "
                "skin tone included; name one in the prompt to choose it, e.g. “person: medium skin tone”.")
        return
    if not st.button("Emojify", key="emojify", type="primary"):
        return
    edit_upload(source, upload, math.ceil(int(pipe.options["num_steps"]) * strength), "emojify",
                f"emojified_{strength:g}_seed{seed}",
                lambda photo, progress: inf.emojify(pipe, photo, prompt, strength, n, seed, progress=progress,
                                                    **options))


def inpaint_panel(runs) -> None:
    from emoji_t2i.pipelines.editing_options import INPAINT_REGIONS

    source, pipe = diffusion_choice(runs, "inpaint-model")
    if pipe is None:
        return
    upload = st.file_uploader("Your emoji (PNG; any image is framed as for an emoji of it)", key="inpaint-upload")
    prompt = st.text_input("What should it become?", "sleeping face", key="inpaint-prompt")
    left, middle, right = st.columns(3)
    regions = [*INPAINT_REGIONS, PAINTED]
    region = left.selectbox("Redraw", regions, regions.index("eyes"), key="region",
                            help="a band of an emoji face, or what you paint over it; the rest of the image is "
                                 "kept as it is")
    n, seed, options = count_seed_and_style(pipe, middle, right, "inpaint")
    if upload is None:
        st.info("Upload an emoji to redraw one part of it (its eyes, its mouth, the top of its head, or "
                "what you paint) after a prompt, keeping the rest.")
        return
    mask = region
    if region == PAINTED:
        mask = paint_mask(upload)
        if mask is None:
            return
    if not st.button("Redraw", key="inpaint", type="primary"):
        return
    name = "painted" if region == PAINTED else region
    edit_upload(source, upload, int(pipe.options["num_steps"]), "inpaint", f"redrawn_{name}_seed{seed}",
                lambda image, progress: inf.inpaint(pipe, image, prompt, mask, n, seed, progress=progress,
                                                    **options))


PAINTED = "what you paint"


def paint_mask(upload):
    """The uploaded emoji on a canvas to paint over: the painted mask, or None (and a line that
    says what to do) while nothing is painted."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.warning("Painting needs the canvas component: pip install streamlit-drawable-canvas "
                   "(or pick a region instead).")
        return None
    from PIL import Image

    from emoji_t2i.pipelines.editing import prepare_photo

    try:
        frame = prepare_photo(inf.read_photo(upload.getvalue()))
    except inf.AppInputError as e:
        st.warning(str(e))
        return None
    background = inf.on_checkerboard(frame, scale=inf.PAINT_SCALE)
    brush = st.slider("Brush (pixels of the 72x72 emoji)", 2, 16, 6, key="brush")
    size = background.shape[0]
    canvas = st_canvas(stroke_width=brush * inf.PAINT_SCALE, stroke_color=inf.PAINT_COLOUR,
                       background_image=Image.fromarray(background), height=size, width=size,
                       drawing_mode="freedraw", return_image_data=True, key="paint")
    mask = inf.painted_mask(canvas.image_data, background)
    if mask is None:
        st.info("Paint over the part to redraw (the rest is kept), then press Redraw.")
    return mask


def count_seed_and_style(pipe, middle, right, key: str):
    """How many emoji, the seed (in two columns) and a style picker for a model with styles."""
    n = middle.number_input("Emoji", 1, 8, 4, key=f"{key}-n")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key=f"{key}-seed")
    return n, seed, style_choice(pipe, f"{key}-style")


def edit_upload(source: str, upload, steps: int, key: str, stem: str, edit) -> None:
    """Runs ``edit(image, progress)`` on the uploaded image under a step bar and shows the
    starting frame and the results it returns, or the one-line reason it could not."""
    bar, progress = step_bar(steps)
    try:
        image = inf.read_photo(upload.getvalue())
        with turn(source):
            images = edit(image, progress)
    except inf.AppInputError as e:
        bar.empty()
        st.warning(str(e))
        return
    bar.empty()
    show(images, ["start.png"] + [f"{stem}_{i}.png" for i in range(len(images) - 1)], key, columns=len(images))


def project_panel(runs) -> None:
    source, pipe = stylegan_choice(runs, "project-model")
    if pipe is None:
        return
    upload = st.file_uploader("Your image (PNG or JPEG; transparency kept)", key="upload")
    steps = st.slider("Projection steps", 20, 400, 150, 10, key="project-steps")
    if upload is None:
        st.info("Upload an image to project it into the StyleGAN's w space, then edit it.")
        return
    try:
        target = inf.read_upload(upload.getvalue())
    except inf.AppInputError as e:
        st.warning(str(e))
        return
    cache_key = (upload.name, upload.size, steps, source)
    if st.session_state.get("projected", (None,))[0] != cache_key:
        bar = st.progress(0.0, text="projecting")
        with turn(source):
            w, image, seconds = inf.project(pipe, target, steps,
                                            progress=lambda i, loss: bar.progress(i / steps, text=f"step {i}/{steps}"))
        bar.empty()
        st.session_state["projected"] = (cache_key, w, image, seconds)
    _, w, image, seconds = st.session_state["projected"]
    st.caption(f"projected in {seconds:.1f} s")
    directions, amounts = sliders(source, "project")
    edited = pipe.synthesize(pipe.edit(w, directions, amounts))[0]
    show(np.stack([target, image, edited]), ["target.png", "projection.png", "edited.png"], "project", columns=3)


def main() -> None:
    st.set_page_config(page_title="emoji_t2i", page_icon="🙂", layout="wide")
    st.title("emoji_t2i")
    runs = extra_runs()
    tabs = st.tabs(["Text → emoji", "Mash-up", "Explore", "Blend", "Your image"])
    for tab, render in zip(tabs, (text_tab, mashup_tab, explore_tab, blend_tab, your_image_tab), strict=True):
        with tab:
            render(runs)


main()
