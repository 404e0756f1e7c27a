"""What a new run may start from (a pretrained encoder, a Stage I, an image tokenizer): a run
directory, a preset folder, or a shipped preset by name (``clip-emoji72``)."""

from __future__ import annotations

from pathlib import Path

from emoji_t2i.pipelines.presets import load_preset, read_preset, resolve_preset, shipped_presets
from emoji_t2i.pipelines.run_dir import RunDir, RunError
from emoji_t2i.pipelines.text_to_image import load_run_model


def is_run(path: str | Path) -> bool:
    path = Path(path)
    return (path / "config.json").is_file() and (path / "checkpoints").is_dir()


def source_config(path: str | Path) -> dict:
    """The source's ``{"model", "hparams", ...}``; a one-line error when it is neither."""
    if is_run(path):
        return RunDir(path).load_config()
    try:
        return read_preset(path)
    except RunError:
        pass
    if not Path(path).exists():
        raise RunError(f"{path}: no such run directory or preset; pass a folder written by python -m "
                       f"emoji_t2i.train or a shipped preset ({', '.join(shipped_presets())})")
    return RunDir(path).load_config()  # an existing folder that is neither: the run's own error


def source_tokenizer_path(path: str | Path) -> Path:
    return RunDir(path).tokenizer_path if is_run(path) else resolve_preset(path) / "tokenizer.json"


def load_source_model(path: str | Path, model_name: str | None = None):
    """(model, tokenizer, config) of a run's latest checkpoint or of a preset."""
    if is_run(path):
        return load_run_model(path, model_name)
    model, tokenizer, config = load_preset(path)
    if model_name and config["model"] != model_name:
        raise RunError(f"{path} is a {config['model']!r} preset, not {model_name!r}")
    return model, tokenizer, config
