"""Presets: a trained model in one folder that loads with nothing from training.

    <preset>/
      config.json      {"format", "model" (zoo name), "config" (the model's get_config()),
                        "tokenizer", "weights"}
      tokenizer.json   the caption tokenizer (vocabulary included)
      model.weights.h5 the sampling networks' weights (EMA copies; no discriminator, no
                       optimizer state). A frozen pretrained text encoder (minilm) is not
                       copied: it loads from its installed package.
      metadata.json    what trained it: command, data, epochs, steps, evaluation figures
      README.md        the model card (shipped presets)

Training writes ``<run>/preset/`` after every checkpoint; ``emoji_t2i/presets/<name>/``
holds the shipped ones, found by name.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from emoji_t2i.models import get_model_class
from emoji_t2i.pipelines.run_dir import RunError
from emoji_t2i.text.minilm import MiniLM
from emoji_t2i.text.tokenizers import load_tokenizer, save_tokenizer

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "presets"
DEFAULT_PRESET = "diffusion-emoji72-fast"  # generate, the app's Text tab, from_preset(): 4 calls an emoji
# its teacher: classifier-free guidance (a negative prompt), any step count, and the editing tools
GUIDED_PRESET = "diffusion-emoji72"
STYLES_PRESET = "diffusion-emoji72-styles"  # the shipped model that takes --style
# sampling options the distilled default folds away or was not distilled for
GUIDED_OPTIONS = ("negative_prompt", "num_steps", "sampler", "guidance_interval")
FORMAT = 1


def run_metadata(config: dict, epochs: int, steps: int | None = None) -> dict:
    """What a preset records about the run that trained it."""
    keys = ("model", "backend", "command", "data", "batch_size", "seed", "precision", "created", "out", "init_from")
    return {**{k: config.get(k) for k in keys}, "epochs": epochs, "steps": steps,
            "training": config.get("training", {})}


def preset_for(options: dict) -> tuple[str, str | None]:
    """The shipped preset that draws with ``options`` when none is named, and why it is not
    :data:`DEFAULT_PRESET` (None when it is): a style needs the model trained on styles, and a
    negative prompt or a chosen step count, sampler or guidance interval the guided teacher,
    since the default samples its own 4-step grid with the guidance folded into its weights."""
    if options.get("style") not in (None, "any"):
        return STYLES_PRESET, f"--style needs a model trained on styles: drawing with {STYLES_PRESET}"
    asked = [k for k in GUIDED_OPTIONS if options.get(k) not in (None, "")]
    if asked:
        flag = "--" + asked[0].replace("_", "-")
        return GUIDED_PRESET, (f"{flag} needs the guided {GUIDED_PRESET}, which {DEFAULT_PRESET} was distilled "
                               f"from: drawing with it")
    return DEFAULT_PRESET, None


def shipped_presets() -> list[str]:
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "config.json").is_file()) \
        if SHIPPED_DIR.is_dir() else []


def resolve_preset(name_or_path: str | Path, flag: str = "--preset") -> Path:
    """A shipped preset's name, a folder holding a preset's config.json, or a run folder
    (its ``preset/``, written at every checkpoint); ``flag`` is what the error calls it."""
    path = Path(name_or_path)
    if (path / "preset" / "config.json").is_file():
        path = path / "preset"
    if (path / "config.json").is_file() and (path / "tokenizer.json").is_file():
        return path
    if (SHIPPED_DIR / str(name_or_path) / "config.json").is_file():
        return SHIPPED_DIR / str(name_or_path)
    shipped = ", ".join(shipped_presets()) or "none"
    raise RunError(f"{flag} {name_or_path}: not a preset folder (no config.json) nor a shipped "
                   f"preset (shipped: {shipped}); pass a folder written by training (<run>/preset)")


def _stored_layers(model):
    """Layers a preset stores (``preset_layers``): all but frozen pretrained encoders from a package."""
    return [layer for layer in model.preset_layers() if not isinstance(layer, MiniLM)]


def save_preset(model, tokenizer, path: Path, metadata: dict | None = None) -> Path:
    """Write a preset atomically (a temporary folder renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = {"format": FORMAT, "model": model.zoo_name, "config": model.get_config(),
              "tokenizer": "tokenizer.json", "weights": "model.weights.h5"}
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_tokenizer(tokenizer, tmp / "tokenizer.json")
    with h5py.File(tmp / "model.weights.h5", "w") as f:
        for layer in _stored_layers(model):
            group = f.create_group(layer.name)
            for i, weight in enumerate(layer.weights):
                group.create_dataset(str(i), data=np.asarray(weight))
    (tmp / "metadata.json").write_text(json.dumps(metadata or {}, indent=2) + "\n")
    if path.exists():
        for extra in ("README.md",):  # a model card written by hand survives a refresh
            if (path / extra).exists():
                shutil.copy2(path / extra, tmp / extra)
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old)
    else:
        os.replace(tmp, path)
    return path


def read_preset(name_or_path: str | Path, flag: str = "--preset") -> dict:
    """A preset's description without building it: path, model name, hyper-parameters, metadata."""
    path = resolve_preset(name_or_path, flag)
    try:
        config = json.loads((path / "config.json").read_text())
        hparams = {k: v for k, v in config["config"].items() if k not in ("name", "trainable", "dtype")}
        model = config["model"]
    except (json.JSONDecodeError, KeyError) as e:
        raise RunError(f"{path / 'config.json'}: not a preset config ({e}); re-export the preset") from e
    metadata = json.loads((path / "metadata.json").read_text()) if (path / "metadata.json").exists() else {}
    return {"path": str(path), "model": model, "hparams": hparams, "metadata": metadata}


def load_preset(name_or_path: str | Path, sampling_only: bool = False):
    """(model, tokenizer, config) of a preset, weights loaded, ready to sample. With
    ``sampling_only`` the networks sampling does not read stay unbuilt (``build_sampling_layers``:
    a diffusion model's trained U-Net) until ``build_all``: faster to load, for drawing or as
    the source of a warm start."""
    path = resolve_preset(name_or_path)
    try:
        config = json.loads((path / "config.json").read_text())
        model_config = dict(config["config"])
        cls = get_model_class(config["model"])
    except (json.JSONDecodeError, KeyError) as e:
        raise RunError(f"{path / 'config.json'}: not a preset config ({e}); re-export the preset") from e
    tokenizer = load_tokenizer(path / config["tokenizer"])
    for key in ("name", "trainable", "dtype"):
        model_config.pop(key, None)
    model = cls(**model_config)
    sequence_length = int(tokenizer([""]).shape[1])
    if sampling_only:
        model.build_sampling_layers(sequence_length)
    else:
        model.build_for_sampling(sequence_length)
    with h5py.File(path / config["weights"], "r") as f:
        for layer in _stored_layers(model):
            if layer.name not in f:
                raise RunError(f"{path}: weights for {layer.name} missing; the preset is incomplete")
            group = f[layer.name]
            if len(group) != len(layer.weights):
                raise RunError(f"{path}: {layer.name} has {len(group)} weights, the model "
                               f"{len(layer.weights)}; the preset does not fit this version")
            for i, weight in enumerate(layer.weights):
                weight.assign(group[str(i)][()])
    metadata = json.loads((path / "metadata.json").read_text()) if (path / "metadata.json").exists() else {}
    return model, tokenizer, {"model": config["model"], "preset": str(path), "metadata": metadata,
                              "hparams": model_config}
