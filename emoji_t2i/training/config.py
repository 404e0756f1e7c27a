"""The resolved run configuration: model defaults < CLI flags < ``--set KEY=VALUE``.

Everything a run needs to be re-created is in this dict, dumped to ``config.json``.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import math

from emoji_t2i.data.balance import check_balance
from emoji_t2i.errors import UsageError
from emoji_t2i.pipelines.checks import SAMPLING_OPTIONS, check_sampling_options

TRAINING_KEYS = {
    # key: (default, help)
    "beta_1": (0.9, "Adam beta_1 (the GANs default to 0, the stable choice for them)"),
    "beta_2": (0.999, "Adam beta_2 (the GANs default to 0.9)"),
    "aux_labels": ("subcategory,identity", "label fields for the auxiliary heads ('' for none)"),
    "tokenizer": ("word", "caption tokenizer: word, char, wordpiece (minilm's) or codepoint (hub:'s)"),
    "sequence_length": (16, "tokens per caption"),
    "jit_compile": (False, "XLA-compile the train step (measured slower on CPU)"),
    "deterministic": (False, "enable TF op determinism (bit-exact resume; slower)"),
    "sample_every": (1, "write the sample grid every N epochs"),
    "probe_every": (0, "every N epochs measure the probe (near copies and R-precision of 224 fixed prompts) "
                       "and keep the preset its rule chooses in probe/preset (0: never)"),
    "probe_steps": (0, "sampling steps of the probe (0: the model's own)"),
    "composites": (0, "add N drawings of an animal, food or object wearing or carrying another emoji "
                      "(data/composites.py; never a pair the composition prompts ask for)"),
    "balance": ("none", "'identity': draw every emoji in every style equally often, its skin tones sharing "
                        "its turn (People & Body falls from 55 % of the draws to 18 %); 'none': as stored"),
    "style": ("", "train on these styles only, comma-separated (google,twitter; '' for all)"),
    "vendor": ("", "the old name of style (runs made before styles existed record it)"),
}
RUN_DEFAULTS = {"epochs": 6, "batch_size": 64, "seed": 0, "precision": None,
                "strategy": "default", "steps_per_epoch": None, "data": "embedded"}


def parse_value(text: str):
    """JSON where it parses (numbers, true/false, lists), comma lists as lists, else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    if "," in text:  # 8,16 or 0.28,5.42: a list of numbers
        parts = [_number(p) for p in text.split(",")]
        if all(part is not None for part in parts):
            return parts
    return text


def _number(text: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_setting(key: str, text: str, default):
    """``parse_value`` checked against the key's default: a number stays a number, a flag a flag."""
    value = parse_value(text)
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise UsageError(f"--set {key}={text}: {key} takes a number (default {default})")
    if isinstance(default, bool) and not isinstance(value, bool):
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if str(text).strip().lower() not in words:
            raise UsageError(f"--set {key}={text}: {key} takes true or false (default {str(default).lower()})")
        value = words[str(text).strip().lower()]
    if numeric and (key == "lr" or key.endswith("_lr")) and not 0 < value < math.inf:
        # a negative rate climbs the loss, and nan poisons every weight at the first step
        raise UsageError(f"--set {key}={text}: a learning rate is a positive number (default {default})")
    if isinstance(default, list) and default:
        return _list_setting(key, text, value, default)
    return value


def _list_setting(key: str, text: str, value, default: list) -> list:
    """A list key takes one value as a list of one (``widths=8``); a list of sizes (channels,
    widths) takes whole numbers of at least 1."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif not isinstance(value, list):
        value = [value]
    sizes = all(isinstance(d, int) and not isinstance(d, bool) for d in default)
    if sizes and not (value and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        raise UsageError(f"--set {key}={text}: {key} takes whole numbers of at least 1, comma-separated "
                         f"(default {','.join(map(str, default))})")
    return value


def model_hyperparameters(model_class) -> dict:
    """Constructor kwargs (with defaults) of a zoo model and its base classes."""
    params = {}
    for cls in reversed(model_class.__mro__):
        if "__init__" in cls.__dict__ and cls.__module__.startswith("emoji_t2i"):
            for p in inspect.signature(cls.__init__).parameters.values():
                if p.default is not inspect.Parameter.empty and p.name != "kwargs":
                    value = p.default
                    params[p.name] = list(value) if isinstance(value, tuple) else value
    params.pop("num_classes", None)  # derived from the data's label vocabularies
    for name in getattr(model_class, "UNUSED_HPARAMS", ()):  # a base class's knobs this model lacks
        params.pop(name, None)
    return params


def resolve(model_name: str, model_class, cli: dict, overrides: list[str],
            init_from: dict | None = None) -> dict:
    """``init_from``: a preset's description (``read_preset``) whose hyper-parameters replace
    the model's defaults, so its weights fit; ``--set`` still wins."""
    hparams = model_hyperparameters(model_class)
    if init_from is not None:
        hparams.update({k: v for k, v in init_from["hparams"].items() if k in hparams})
    # A model class adds its learning-rate keys (one per optimizer: g_lr/d_lr, lr) and may
    # change a shared default (a character-level model defaults to the char tokenizer).
    training = {k: v for k, (v, _) in TRAINING_KEYS.items()}
    training.update(getattr(model_class, "training_defaults", {}))
    for item in overrides:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. --set g_lr=2e-4")
        key, value = item.split("=", 1)
        key = key.strip()
        if key in hparams:
            hparams[key] = parse_setting(key, value, hparams[key])
        elif key in training:
            training[key] = parse_setting(key, value, training[key])
        else:
            known = ", ".join(sorted([*hparams, *training]))
            raise UsageError(f"--set {key}: unknown for model {model_name}; known keys: {known}")
    check_balance(str(training["balance"]), "--set balance=")  # before any data or model loads
    set_keys = {item.split("=", 1)[0].strip() for item in overrides}
    for key in sorted(set_keys & set(SAMPLING_OPTIONS) & set(hparams)):  # num_steps=0 trained, then drew blanks
        try:
            check_sampling_options({key: hparams[key]})
        except UsageError as e:
            raise UsageError(f"--set {key}: {e}") from None
    from emoji_t2i.text.encoders import tokenizer_for  # imports TensorFlow; --resume under JAX needs none

    tokenizer = tokenizer_for(str(hparams.get("text_encoder")))
    if tokenizer and "tokenizer" not in set_keys:  # it reads characters or word pieces
        training["tokenizer"] = tokenizer[0]
        if "sequence_length" not in set_keys:
            training["sequence_length"] = tokenizer[1]
    config = {"model": model_name, **RUN_DEFAULTS, **model_class.run_defaults}
    config.update({k: v for k, v in cli.items() if v is not None})
    if config["precision"] is None:
        config["precision"] = default_precision()
    config["training"] = training
    config["hparams"] = hparams
    config["created"] = dt.datetime.now().isoformat(timespec="seconds")
    if init_from is not None:
        meta = init_from["metadata"]
        config["init_from"] = {"preset": init_from["path"], "command": meta.get("command"),
                               "epochs": meta.get("epochs"), "steps": meta.get("steps"),
                               "init_from": meta.get("init_from")}
    return config


def apply_resume_overrides(config: dict, overrides: list[str]) -> dict:
    """``--set`` on ``--resume``: training keys (learning rates, sampling...) may change;
    model hyper-parameters may not, since the checkpoint holds that architecture."""
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.strip()
        if key in config["hparams"]:
            raise UsageError(f"--set {key}: a model hyper-parameter cannot change on --resume "
                             "(the checkpoint holds that architecture); start a new run")
        if key not in config["training"] or not _:
            known = ", ".join(sorted(config["training"]))
            raise UsageError(f"--set {item!r} on --resume: expected KEY=VALUE with KEY one of {known}")
        config["training"][key] = parse_setting(key, value, config["training"][key])
    check_balance(str(config["training"].get("balance", "none")), "--set balance=")
    return config


def default_precision() -> str:
    """mixed_float16 on a GPU, float32 on a CPU.

    mixed_bfloat16 works on CPU (pass --precision mixed_bfloat16) but with TF 2.21 its conv
    backward passes ran ~10x slower than float32 on this project's AVX512-BF16 machine
    (benchmarks/train_step.py), so it is not the CPU default.
    """
    import tensorflow as tf

    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
