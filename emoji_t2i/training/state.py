"""A diffusion run's state as plain arrays keyed by name: the checkpoint format both Keras
backends read and write.

``state/`` holds ``params-*.npz`` (the U-Net's trainable weights), ``ema-*.npz`` (its EMA, under
the same names), ``optimizer-*.npz`` (AdamW's step and moments, named after the weight they
belong to) and ``progress.json`` (step, images seen, training seconds). The JAX trainer writes
it at every checkpoint; the TensorFlow trainer writes it beside its ``tf.train.Checkpoint``
after every epoch of a diffusion run. Because the keys are layer paths below the network
(``down0_0/conv1/kernel``, ``down0_0/conv1/kernel:momentum``) and not variable order or
backend-specific object paths, a run trained under one backend resumes under the other with the
same weights, moments and step (``training/loop.py``, ``emoji_t2i/train.py --backend``).
Numpy only at import: the JAX machines have no TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from emoji_t2i.errors import MissingFile, UsageError
from emoji_t2i.networks.weights import weight_names

STATE_FILE_BYTES = 15 * 2**20  # one state file at most (the GPU machine returns files <= 16 MiB)


def in_order(arrays, names: list[str], error: str, new: tuple[str, ...] = ()) -> list:
    """Arrays saved by name (a dict) in the order of ``names``; ``error`` names what is missing
    or unexpected. Names starting with one of ``new`` (layers the saved network lacked) may be
    missing: None stands for them. Files written before weights were stored by name (keys "0",
    "1", ...; or a list) are read by position."""
    if isinstance(arrays, dict) and arrays and not all(k.isdigit() for k in arrays):
        known = set(names)
        missing = [n for n in names if n not in arrays and not n.startswith(new or ("\0",))]
        unexpected = [k for k in arrays if k not in known]
        if missing or unexpected:
            raise UsageError(f"{error} (missing: {', '.join(missing[:3]) or 'none'}; "
                             f"unexpected: {', '.join(unexpected[:3]) or 'none'})")
        return [arrays.get(n) for n in names]
    if isinstance(arrays, dict):
        arrays = [arrays[str(i)] for i in range(len(arrays))]
    if len(arrays) != len(names):
        raise UsageError(f"{error} ({len(arrays)} arrays for {len(names)} weights)")
    return list(arrays)


def assign_weights(net, arrays, error: str, new: tuple[str, ...] = ()) -> None:
    """Arrays by name (a dict keyed by ``weight_names``) or by position into a network;
    ``error`` if any is missing or its shape differs. Weights under ``new`` (layers the saved
    network lacked) keep their initial values when absent."""
    arrays = in_order(arrays, weight_names(net), error, new)
    if any(a is not None and tuple(w.shape) != tuple(np.shape(a)) for w, a in zip(net.weights, arrays, strict=True)):
        raise UsageError(error)
    for w, a in zip(net.weights, arrays, strict=True):
        if a is not None:
            w.assign(a)


SLOTS = {"_momentums": "momentum", "_velocities": "velocity", "_velocity_hats": "velocity_hat"}


def optimizer_names(optimizer, param_names: list[str]) -> list[str]:
    """A name for each of ``optimizer.variables``, the same under both backends: a slot
    variable takes its weight's name (``param_names``, in the order the optimizer was built
    with) and the slot (``down0_0/conv1/kernel:momentum``); the rest keep their own name
    (``iteration``). Keras's own paths repeat (``adamw/kernel_momentum``) or carry the model's
    name, so they cannot key a file one backend writes and the other reads."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a loss-scale wrapper's state is not kept
    slots = {}
    for attribute, slot in SLOTS.items():
        for i, variable in enumerate(getattr(optimizer, attribute, None) or []):
            slots[id(variable)] = f"{param_names[i]}:{slot}"
    names = [slots.get(id(v), v.name) for v in optimizer.variables]
    if len(set(names)) != len(names):
        raise ValueError(f"{optimizer.name}: two variables share a name in the run's state")
    return names


def save_arrays(folder: Path, name: str, arrays: list, names: list[str] | None = None) -> None:
    """``arrays`` under ``names`` (default "0", "1", ...) in ``name``-0.npz, -1.npz, ..."""
    names = names or [str(i) for i in range(len(arrays))]
    part, size, index = {}, 0, 0
    for key, a in zip(names, arrays, strict=True):
        a = np.asarray(a)
        if part and size + a.nbytes > STATE_FILE_BYTES:
            np.savez(folder / f"{name}-{index}.npz", **part)
            part, size, index = {}, 0, index + 1
        part[key], size = a, size + a.nbytes
    np.savez(folder / f"{name}-{index}.npz", **part)


def load_arrays(folder: Path, name: str) -> dict:
    """{key: array} of every ``name``-*.npz in ``folder`` (empty if none)."""
    found = {}
    for file in sorted(folder.glob(f"{name}-*.npz")):
        with np.load(file) as f:
            found.update({k: f[k] for k in f.files})
    return found


def replace_state(run: Path, groups: dict, progress: dict) -> None:
    """Rewrite ``run``/state atomically: each group ``{"params": (arrays, names or None), ...}``
    as its split npz files, and progress.json; a crash leaves the old state or the new one."""
    tmp = run / "state.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for group, (arrays, names) in groups.items():
        save_arrays(tmp, group, arrays, names)
    (tmp / "progress.json").write_text(json.dumps(progress, indent=2) + "\n")
    old = run / "state.old"
    shutil.rmtree(old, ignore_errors=True)
    if (run / "state").exists():
        os.replace(run / "state", old)
    os.replace(tmp, run / "state")
    shutil.rmtree(old, ignore_errors=True)


def write_state(run: Path, trainable, optimizer_vars, ema, progress: dict, names: dict | None = None) -> None:
    """``names``: {"params": [...], "optimizer": [...]} keys to store the arrays under (the EMA
    takes the parameters' names); without, by position."""
    names = names or {}
    replace_state(run, {"params": (trainable, names.get("params")), "ema": (ema, names.get("params")),
                        "optimizer": (optimizer_vars, names.get("optimizer"))}, progress)


def read_state(run: Path) -> dict:
    state = run / "state"
    if not (state / "progress.json").exists():
        raise MissingFile(f"--resume: {state} has no checkpoint; start without --resume")
    # optimizer-*.npz may be absent: a run carried between machines without its Adam moments
    # params-*.npz may be absent too: a run whose EMA alone came back (it cannot resume then)
    return {"params": load_arrays(state, "params"), "ema": load_arrays(state, "ema"),
            "optimizer": load_arrays(state, "optimizer"),
            "progress": json.loads((state / "progress.json").read_text())}


# --- a TensorFlow diffusion model's state -------------------------------------------------------
def model_optimizer(model):
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model._trained_variables())
    return getattr(optimizer, "inner_optimizer", optimizer)


def trained_weights(model) -> tuple[list[str], list]:
    """(names, variables) of the U-Net's trainable weights, in the order the optimizer holds them."""
    pairs = [(n, w) for n, w in zip(weight_names(model.denoiser), model.denoiser.weights, strict=True) if w.trainable]
    return [n for n, _ in pairs], [w for _, w in pairs]


def write_model_state(run: Path, model, progress: dict) -> None:
    """``run``/state from a (TensorFlow) diffusion model: what the JAX trainer would write."""
    names, params = trained_weights(model)
    optimizer = model_optimizer(model)
    write_state(Path(run), [np.asarray(w) for w in params], [np.asarray(v) for v in optimizer.variables],
                [np.asarray(w) for w in model.ema_denoiser.weights], progress,
                {"params": names, "optimizer": optimizer_names(optimizer, names)})


def load_model_state(model, saved: dict, where: str) -> None:
    """A run's ``read_state`` into a (TensorFlow) diffusion model: U-Net, EMA and optimizer."""
    mismatch = f"{where} does not fit this model (another --set widths, blocks or conditioning?); start a new run"
    if not saved["params"] or not saved["optimizer"]:
        raise MissingFile(f"{where} holds the EMA alone (params-*.npz or optimizer-*.npz are missing); "
                          "copy the whole state/ folder to resume")
    names, params = trained_weights(model)
    optimizer = model_optimizer(model)
    for variables, arrays in ((params, in_order(saved["params"], names, mismatch)),
                              (optimizer.variables, in_order(saved["optimizer"], optimizer_names(optimizer, names),
                                                             mismatch))):
        for v, a in zip(variables, arrays, strict=True):
            _assign(v, a, mismatch)
    assign_weights(model.ema_denoiser, saved["ema"], mismatch)


def _assign(variable, array, error: str) -> None:
    if tuple(variable.shape) != tuple(np.shape(array)):
        raise UsageError(error)
    variable.assign(np.asarray(array).astype(variable.dtype))
