"""What the web app does, as plain functions (tested without a browser or Streamlit).

Every function takes loaded pipelines and plain values and returns uint8 RGBA arrays, or
raises :class:`AppInputError` with the one line the app shows instead of a traceback.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from emoji_t2i.errors import UsageError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096
MAX_PROMPT_CHARS = 200


class AppInputError(UsageError):
    """Bad input from a person: the message says what to change."""


# --- models ------------------------------------------------------------------------------------------
def text_model_sources(extra_runs=(), first: str | None = None) -> dict[str, str]:
    """Label -> source for the Text tab: shipped text-to-emoji presets (``first``, by default
    the one generate draws with, leading), then ``--run`` folders."""
    from emoji_t2i.models import get_model_class
    from emoji_t2i.pipelines.presets import DEFAULT_PRESET, read_preset, shipped_presets

    first = first or DEFAULT_PRESET
    sources = {}
    for name in sorted(shipped_presets(), key=lambda name: name != first):
        info = read_preset(name)
        if not get_model_class(info["model"]).is_generator or not info["hparams"].get("conditional", True):
            continue  # components and unconditional GANs draw nothing from text
        sources[f"{name} (shipped)"] = name
    for run in extra_runs:
        sources[f"{Path(run).name} (run)"] = str(run)
    return sources


def editing_sources(extra_runs=()) -> dict[str, str]:
    """The Text tab's sources whose model can mash up and emojify (diffusion models), the
    guided shipped one first: the editing tools start between the points of a distilled
    model's step grid, where it was not trained."""
    from emoji_t2i.pipelines.presets import GUIDED_PRESET, read_preset
    from emoji_t2i.pipelines.run_dir import RunDir

    def model_of(source):
        if source_kind(source) == "run":
            return RunDir(source).load_config().get("model")
        return read_preset(source)["model"]

    return {label: source for label, source in text_model_sources(extra_runs, first=GUIDED_PRESET).items()
            if model_of(source) == "diffusion"}


# What the Blend tab opens on: the two vendor fine-tunes of one parent (docs/models/stylegan.md).
BLEND_PAIR = ("stylegan-emoji72-google", "stylegan-emoji72-twitter")


def stylegan_sources(extra_runs=()) -> dict[str, str]:
    from emoji_t2i.pipelines.presets import read_preset, shipped_presets

    sources = {f"{n} (shipped)": n for n in shipped_presets() if read_preset(n)["model"] == "stylegan"}
    sources.update({f"{Path(r).name} (run)": str(r) for r in extra_runs})
    return sources


def load_text_pipeline(source: str):
    from emoji_t2i.pipelines import TextToImagePipeline

    # the app answers many prompts: tracing the text side once pays after a few (docs/performance.md)
    if (Path(source) / "checkpoints").is_dir():
        return TextToImagePipeline.from_run(source).trace_text()
    return TextToImagePipeline.from_preset(source).trace_text()


def load_stylegan(source: str):
    from emoji_t2i.pipelines.stylegan import StyleGANPipeline

    return StyleGANPipeline.load(source)


# --- the tabs -----------------------------------------------------------------------------------------
def text_request(pipe, prompt: str, **options) -> tuple[str, dict]:
    """The checked prompt and the sampling options this model takes (others dropped)."""
    negative = options.get("negative_prompt") or ""
    if len(negative) > MAX_PROMPT_CHARS:
        raise AppInputError(f"That negative prompt has {len(negative)} characters; keep it under {MAX_PROMPT_CHARS}.")
    return _check_prompt(prompt), {k: v for k, v in options.items() if k in pipe.options and v is not None}



def _check_prompt(prompt: str, example: str = "crying cat") -> str:
    prompt = (prompt or "").strip()
    if not prompt:
        raise AppInputError(f"Type a prompt first, e.g. “{example}”.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise AppInputError(f"That prompt has {len(prompt)} characters; keep it under {MAX_PROMPT_CHARS}.")
    return prompt


def mashup(pipe, first: str, second: str, mix: float = 0.5, n: int = 4, seed: int = 0, method: str | None = None,
           progress=None, **options) -> np.ndarray:
    """Rows of (first prompt, mash-up, second prompt) for ``n`` seeds, shape (n * 3, 72, 72, 4)."""
    first, second = _check_prompt(first, "crying cat face"), _check_prompt(second, "smiling face with sunglasses")
    method = {} if method is None else {"method": method}
    images = pipe.mashup(first, second, mix=[0.0, float(mix), 1.0], n=int(n), seed=int(seed), progress=progress,
                         **method, **options)
    n = int(n)
    return np.stack([images[k * n + i] for i in range(n) for k in range(3)])


def explore_prompts(pipe, first: str, second: str, mix: float, seed: int, n: int = 6, **options) -> np.ndarray:
    """``n`` emoji (seeds ``seed`` ...) somewhere between two prompts: the Explore tab's
    diffusion mode, where a slider moves the same emoji from one prompt to the other."""
    first, second = _check_prompt(first, "grinning face"), _check_prompt(second, "crying cat face")
    return pipe.mashup(first, second, mix=float(mix), n=int(n), seed=int(seed), **options)


def emojify(pipe, photo: np.ndarray, prompt: str, strength: float, n: int = 4, seed: int = 0, progress=None,
            **options) -> np.ndarray:
    """(the 72x72 frame the model starts from, then ``n`` emoji), shape (n + 1, 72, 72, 4)."""
    from emoji_t2i.pipelines.editing import prepare_photo

    prompt = _check_prompt(prompt, "person")
    images = pipe.emojify(photo, prompt, strength=float(strength), n=int(n), seed=int(seed), progress=progress,
                          **options)
    return np.concatenate([prepare_photo(photo)[None], images])


def inpaint(pipe, image: np.ndarray, prompt: str, region, n: int = 4, seed: int = 0, progress=None,
            **options) -> np.ndarray:
    """(the 72x72 frame the model starts from, then ``n`` emoji with ``region`` redrawn):
    ``region`` a region's name or a mask (``painted_mask``)."""
    from emoji_t2i.pipelines.editing import prepare_photo

    prompt = _check_prompt(prompt, "sleeping face")
    images = pipe.inpaint(image, prompt, mask=region, n=int(n), seed=int(seed), progress=progress, **options)
    return np.concatenate([prepare_photo(image)[None], images])


# Painting a mask: the canvas shows the frame PAINT_SCALE times larger (``on_checkerboard``) and
# the brush lays a translucent colour over it. The canvas sends back its drawing layer alone
# (transparent where nothing is painted), so the paint's alpha is the mask.
PAINT_SCALE = 4
PAINT_OPACITY = 0.6
PAINT_COLOUR = f"rgba(255, 0, 255, {PAINT_OPACITY})"
PAINTED_LEVELS = 16  # in 8-bit levels: less is the anti-aliased fringe of a stroke, or rounding


def painted_mask(rendered, background: np.ndarray) -> np.ndarray | None:
    """What the canvas sent back (RGBA, the background's size) -> a float mask in [0, 1], 1 where
    painted (``pipe.inpaint`` shrinks it to 72x72), or None when nothing is painted yet or the
    canvas has not answered. A canvas that sent its background too (no transparency anywhere)
    is read by its difference from ``background``."""
    if rendered is None:
        return None
    rendered = np.asarray(rendered)
    if rendered.ndim != 3 or rendered.shape[:2] != background.shape[:2]:
        return None
    if rendered.shape[-1] == 4 and rendered[..., 3].min() < 255:
        paint = rendered[..., 3].astype(np.float32)
        scale = PAINT_OPACITY * 255.0
    else:
        paint = np.abs(rendered[..., :3].astype(np.float32) - background[..., :3]).max(-1)
        scale = float(PAINTED_LEVELS)
    mask = np.where(paint >= PAINTED_LEVELS, np.clip(paint / scale, 0.0, 1.0), 0.0).astype(np.float32)
    return mask if mask.any() else None


def explore(pipe, seed: int, n: int = 4, truncation_psi: float = 0.7, amounts=(), directions=None) -> np.ndarray:
    w = pipe.latents(int(n), int(seed), truncation_psi=float(truncation_psi))
    if directions is not None and np.any(np.asarray(amounts)):
        w = pipe.edit(w, directions, amounts)
    return pipe.synthesize(w)


def blend(first, second, level: int, seed: int = 0, n: int = 4, truncation_psi: float = 0.7) -> np.ndarray:
    """Rows of (first, blend, second) for ``n`` seeds, shape (n * 3, 72, 72, 4)."""
    w = first.latents(int(n), int(seed), truncation_psi=float(truncation_psi))
    mixed = first.blend(second, int(level))
    return np.stack([x for row in zip(first.synthesize(w), mixed.synthesize(w), second.synthesize(w), strict=True)
                     for x in row])


def read_upload(data: bytes | None) -> np.ndarray:
    """An uploaded file -> 72x72 RGBA uint8 (letterboxed), or a one-line reason it cannot be used."""
    from emoji_t2i.data.images import resize_premultiplied

    return resize_premultiplied(read_photo(data))


def read_photo(data: bytes | None) -> np.ndarray:
    """An uploaded file -> its RGBA uint8 pixels at full size, or a one-line reason it cannot be used."""
    from emoji_t2i.data.images import to_rgba

    if not data:
        raise AppInputError("Upload a PNG or JPEG first.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise AppInputError(f"That file is {len(data) / 2**20:.1f} MB; upload an image under "
                            f"{MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_UPLOAD_PIXELS:
                raise AppInputError(f"That image is {image.width}x{image.height} pixels; upload one under "
                                    "4096x4096 (it is shrunk to 72x72 anyway).")
            image.load()
            return np.asarray(to_rgba(image))
    except AppInputError:
        raise
    except Image.DecompressionBombError as e:  # PIL refuses to open one this large at all
        raise AppInputError("That image has more pixels than PIL will open; upload one under 4096x4096 "
                            "(it is shrunk to 72x72 anyway).") from e
    except Exception as e:  # PIL raises several kinds for a file that is not an image
        raise AppInputError("That file is not an image PIL can read; upload a PNG or JPEG.") from e


def project(pipe, image: np.ndarray, steps: int = 150, progress=None):
    """(w, projected image (72, 72, 4), seconds)."""
    w, projected, _ = pipe.project(image, steps=int(steps), progress=progress)
    return w, projected[0], pipe.last_projection_seconds


# --- display and download -----------------------------------------------------------------------------
def on_checkerboard(image: np.ndarray, scale: int = 3, cell: int = 6) -> np.ndarray:
    """RGB uint8 of an RGBA emoji over a grey checkerboard, enlarged (transparency visible)."""
    rgba = Image.fromarray(np.asarray(image, np.uint8), "RGBA").resize((72 * scale, 72 * scale), Image.NEAREST)
    size = 72 * scale
    yy, xx = np.mgrid[:size, :size] // (cell * scale // 2 or 1)
    board = np.where(((yy + xx) % 2)[..., None] == 0, 205, 245).astype(np.uint8).repeat(3, axis=-1)
    background = Image.fromarray(board, "RGB").convert("RGBA")
    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))


def png_bytes(image: np.ndarray, made: dict | None = None) -> bytes:
    """A PNG; with ``made`` (``text_records``) it records what drew it, for ``generate --from-png``."""
    from emoji_t2i.data.images import encode_png
    from emoji_t2i.png_parameters import png_bytes as png_with_parameters

    return encode_png(np.asarray(image, np.uint8)) if made is None else png_with_parameters(image, made)


def zip_of_pngs(images, names, records=None) -> bytes:
    records = [None] * len(names) if records is None else records
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for image, name, made in zip(images, names, records, strict=True):
            archive.writestr(name, png_bytes(image, made))
    return buffer.getvalue()


def source_kind(source: str) -> str:
    """"run" for a run folder, "preset" for a preset's name or folder (as the CLIs' flags)."""
    return "run" if (Path(source) / "checkpoints").is_dir() else "preset"


def text_records(source: str, prompt: str, n: int, seed: int, options: dict) -> list[dict]:
    """What each of the Text tab's ``n`` images records in its PNG: the ``generate`` call that
    draws it again (``sample([prompt], seed, n)`` gives the images the app's queue gives)."""
    from emoji_t2i.png_parameters import record

    kind = source_kind(source)
    return [record({kind: source}, [prompt], n, seed, options, image=i, prompt=prompt) for i in range(int(n))]


# the Text tab's Variety choices: the caption noised early in sampling (condition annealing,
# docs/models/diffusion.md), more variety at a measured cost in R-precision
VARIETY = {"as trained": "off", "more": "0.5,1.5,0.5", "much more": "0.5,1.5,1.0"}
# what the Text tab's widgets (by key) take from a record, and their ranges
TEXT_WIDGETS = {"num_steps": ("steps", 1, 50), "guidance_scale": ("guidance", 0.0, 8.0), "n": ("text-n", 1, 16),
                "seed": ("text-seed", 0, 2**31 - 1)}


def settings_from_png(data: bytes, name: str, sources: dict[str, str]) -> tuple[dict, list[str]]:
    """The Text tab's widget values (by key) that a PNG from ``generate`` or the app records,
    and the recorded settings the tab has no control for; one-line ``AppInputError``s."""
    from emoji_t2i.png_parameters import OPTIONS, read_parameters

    try:
        made = read_parameters(io.BytesIO(data or b""), name=name)
    except UsageError as e:
        raise AppInputError(str(e)) from None
    source = made.get("run") or made.get("preset")
    labels = [label for label, where in sources.items() if where == source]
    if not labels:
        hint = f"start the app with --run {source}" if "run" in made else "a preset this install does not ship"
        raise AppInputError(f"{name} was drawn by {source}: {hint}.")
    prompt = made.get("prompt") or (made.get("prompts") or [None])[0]
    if not prompt:
        raise AppInputError(f"{name} records its prompts by their file ({made.get('from_file')}); use "
                            "generate --from-png for it.")
    values = {"text-model": labels[0], "prompt": str(prompt)}
    for field, (key, low, high) in TEXT_WIDGETS.items():
        if field in made:
            try:
                values[key] = type(low)(min(max(type(low)(made[field]), low), high))
            except (TypeError, ValueError):
                raise AppInputError(f"{name}: its {field} ({made[field]!r:.40}) is not a number.") from None
    variety = {v: k for k, v in VARIETY.items()}.get(made.get("condition_annealing", "off"))
    if variety is not None:
        values["variety"] = variety
    values["negative"] = str(made.get("negative_prompt", ""))
    if "style" in made:
        values["text-style"] = str(made["style"])
    ignored = [f"{k.replace('_', ' ')} {made[k]}" for k in OPTIONS  # TEXT_WIDGETS' fields are set above
               if k in made and k not in TEXT_WIDGETS and k not in ("negative_prompt", "style")
               and not (k == "condition_annealing" and variety is not None)]
    return values, ignored


def mashup_record(source: str, first: str, second: str, mix: float, method: str, n: int, seed: int,
                  options: dict) -> dict:
    """What the Mash-up tab's PNGs record: the ``mashup`` command that draws the same images
    (its rows are the tab's columns: ``mashup`` calls ``pipe.mashup`` with mixes 0, ``mix``, 1)."""
    from emoji_t2i.png_parameters import command_record

    argv = [first, second, "--mix", f"{float(mix):g}", "--method", method, "-n", str(int(n)),
            f"--{source_kind(source)}", source]
    if options.get("style"):
        argv += ["--style", options["style"]]
    return command_record("mashup", argv, seed)
