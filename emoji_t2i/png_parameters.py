"""What made a PNG: the model, prompts, seed and settings that ``generate`` and the app write
into the PNGs they save, as a text chunk (the way other image generators record theirs), so that
``python -m emoji_t2i.generate --from-png FILE`` draws the same emoji again.

The record is JSON under the key ``emoji_t2i``; its names are ``generate``'s options
(``preset`` or ``run``, ``prompts``, ``n``, ``seed``, ``num_steps``, ...), and ``image`` says which
of the call's images a single PNG is (prompt-major, as ``generate`` orders them). ``Description``
holds the prompts and ``Software`` the package, for any PNG viewer.
"""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from emoji_t2i import __version__
from emoji_t2i.errors import UsageError

KEY = "emoji_t2i"
# generate's options, in its command line's order; the rest of a record is for people
OPTIONS = ("num_steps", "guidance_scale", "sampler", "guidance_interval", "condition_annealing", "style",
           "negative_prompt", "temperature", "top_k")


def record(source: dict, prompts, n: int, seed: int, options: dict, from_file=None,
           image: int | None = None, prompt: str | None = None) -> dict:
    """The parameters of one ``generate`` call (``source``: {"preset": name} or {"run": path};
    ``prompts`` as given on its command line, then those of ``from_file``, which is recorded by
    name so that a PNG of a long prompt file stays small), and of its ``image``-th image, whose
    prompt is ``prompt``, when the PNG holds one."""
    (kind, where), = source.items()
    if kind not in ("preset", "run"):
        raise ValueError(f"source {source!r}: give {{'preset': name}} or {{'run': path}}")
    made = {kind: str(where), "prompts": [str(p) for p in prompts]}
    if from_file is not None:
        made["from_file"] = str(from_file)
    made.update({"n": int(n), "seed": int(seed)})
    made.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()
                 if k in OPTIONS and v is not None and v != ""})
    if image is not None:
        made["image"] = int(image)
    if prompt is not None:
        made["prompt"] = str(prompt)
    made["command"] = command_line(made)
    made["version"] = __version__
    return made


def command_record(module: str, argv, seed: int) -> dict:
    """The record of a CLI call that ``--from-png`` does not replay (``mashup``, ``emojify``,
    ``inpaint``): its command, with the seed it drew when none was given."""
    words = [str(w) for w in argv]
    if not any(w == "--seed" or w.startswith("--seed=") for w in words):
        words += ["--seed", str(int(seed))]
    return {"command": shlex.join(["python", "-m", f"emoji_t2i.{module}", *words]), "version": __version__}


def command_line(made: dict) -> str:
    """The shell command that draws a record's images again (every image of the call)."""
    words = ["python", "-m", "emoji_t2i.generate"]
    words += ["--run", made["run"]] if "run" in made else ["--preset", made["preset"]]
    words += made["prompts"] + (["--from-file", made["from_file"]] if "from_file" in made else [])
    words += ["-n", str(made["n"]), "--seed", str(made["seed"])]
    for key in OPTIONS:
        if key in made:
            value = made[key]
            words += [f"--{key.replace('_', '-')}", *map(str, value if isinstance(value, list) else [value])]
    return shlex.join(words)


def png_info(made: dict) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(KEY, json.dumps(made, ensure_ascii=False))
    prompts = [made["prompt"]] if "prompt" in made else made.get("prompts", [])
    if prompts:
        info.add_itxt("Description", " | ".join(prompts))
    info.add_text("Software", f"emoji_t2i {__version__}")
    return info


def png_bytes(rgba: np.ndarray, made: dict) -> bytes:
    """One RGBA emoji as a PNG that carries ``made`` (from :func:`record`), compressed as
    ``data.images.encode_png`` compresses one without."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgba, np.uint8), "RGBA").save(buffer, format="PNG", optimize=True,
                                                             pnginfo=png_info(made))
    return buffer.getvalue()


def save_png(path: str | Path, rgba: np.ndarray, made: dict) -> Path:
    path = Path(path)
    path.write_bytes(png_bytes(rgba, made))
    return path


def read_parameters(path, name: str | None = None) -> dict:
    """The record a PNG (a path or a file object) carries; a one-line :class:`UsageError` when it
    is no such PNG, starting with ``name`` (default: ``--from-png PATH``)."""
    what = name or f"--from-png {path}"
    try:
        with Image.open(path) as image:
            text = getattr(image, "text", {}).get(KEY)
    except FileNotFoundError:
        raise UsageError(f"{what}: no such file; give a PNG that generate or the app wrote") from None
    except (OSError, ValueError) as e:  # PIL's UnidentifiedImageError is an OSError
        raise UsageError(f"{what}: not an image ({type(e).__name__}); give a PNG that generate "
                         "or the app wrote") from None
    if text is None:
        raise UsageError(f"{what}: it records no emoji_t2i parameters (only PNGs that generate or "
                         "the app wrote do); give one of those")
    try:
        made = json.loads(text)
    except ValueError:
        made = None
    if isinstance(made, dict) and "command" in made and "prompts" not in made:
        raise UsageError(f"{what}: it records another tool's call, not generate's; run it: "
                         f"{str(made['command'])[:300]}")
    if (not isinstance(made, dict) or not (made.get("prompts") or made.get("from_file"))
            or not ({"preset", "run"} & set(made))):
        raise UsageError(f"{what}: its emoji_t2i record is not one generate wrote "
                         "(no prompts or no model); give a PNG that generate or the app wrote")
    return made
