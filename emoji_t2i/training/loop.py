"""Training a zoo model from a resolved config: data -> tokenizer -> model -> fit()."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from emoji_t2i.data import load_dataset
from emoji_t2i.data.composites import composite_examples, concatenate
from emoji_t2i.data.pipeline import caption_table, epoch_steps, make_dataset
from emoji_t2i.errors import UsageError
from emoji_t2i.evaluation.composition import composition_pairs
from emoji_t2i.models import build_model, get_model_class
from emoji_t2i.pipelines import load_preset, run_metadata, save_preset
from emoji_t2i.pipelines.run_dir import RunDir
from emoji_t2i.pipelines.sources import load_source_model, source_config, source_tokenizer_path
from emoji_t2i.text.tokenizers import load_tokenizer, make_tokenizer, save_tokenizer, sequence_length
from emoji_t2i.training import callbacks as cb
from emoji_t2i.training.environment import make_strategy, set_determinism, set_precision, worker_suffix
from emoji_t2i.training.state import load_model_state, read_state, write_model_state

# Prompts the sample grid shows when they are in the training captions (they are, for the
# embedded dataset); two held-out emoji are added so that generalisation is visible too.
SAMPLE_PROMPTS = ("smiling face with heart-eyes", "crying cat", "thumbs up: dark skin tone",
                  "red heart", "pizza", "rocket", "sun", "flag: japan")


def label_fields(config: dict, data) -> tuple[str, ...]:
    fields = [f.strip() for f in str(config["training"]["aux_labels"]).split(",") if f.strip()]
    return tuple(f for f in fields if len(data.label_vocabulary(f)) > 1)


def choose_prompts(data, seed: int = 0) -> tuple[list[str], list[str]]:
    train, held = data.subset("train"), data.subset("heldout")
    captions = {c for caps in train.captions for c in caps}
    prompts = [p for p in SAMPLE_PROMPTS if p in captions]
    rng = np.random.default_rng(seed)
    if len(prompts) < 4:  # a user's folder: random training captions instead
        rows = rng.choice(len(train), size=min(6, len(train)), replace=False)
        prompts = [train.captions[i][0] for i in rows]
    tags = [""] * len(prompts)
    if len(held):
        base = [i for i in range(len(held)) if not held.metadata["skin_tone"][i]] or list(range(len(held)))
        firsts = sorted({held.captions[i][0] for i in base})
        extra = rng.choice(firsts, size=min(2, len(firsts)), replace=False).tolist()
        prompts += extra
        tags += ["[held-out] "] * len(extra)
    return prompts, tags


def source_runs(config: dict) -> list[str]:
    """Run directories this run starts from (StackGAN Stage II: its Stage I run)."""
    return get_model_class(config["model"]).source_runs(config["hparams"])


make_model = build_model  # the name tests and benchmarks know


def compile_model(model, config: dict, total_steps: int) -> None:
    t = config["training"]
    model.compile(**model.make_optimizers(t, total_steps), jit_compile=bool(t["jit_compile"]))
    model.build_all(int(t["sequence_length"]))


def caption_features(model, data, tokenizer) -> np.ndarray:
    """(N, K, D): a frozen text encoder's features of every caption slot of every image."""
    table, _ = caption_table(data)
    unique = sorted({c for row in table for c in row if c})
    index = {c: i for i, c in enumerate(unique)}
    print(f"encoding {len(unique)} distinct captions once with the frozen text encoder",
          file=sys.stderr)
    features = model.encode_captions(unique, tokenizer)
    out = np.zeros((*table.shape, features.shape[1]), np.float32)
    for (i, k), caption in np.ndenumerate(table):
        if caption:
            out[i, k] = features[index[caption]]
    return out


def only_styles(train, styles: str, flag: str = "--set style"):
    """The training images of some styles (``--set style=google,twitter``), or all for '';
    ``flag`` is how the caller's command spells the option, for the error."""
    wanted = [s.strip() for s in str(styles or "").split(",") if s.strip()]
    if not wanted:
        return train
    present = sorted({str(v) for v in train.metadata["style"] if str(v)})
    unknown = [s for s in wanted if s not in present]
    if unknown:
        raise UsageError(f"{flag}={styles}: no training image of style {unknown[0]}; this data has: "
                         f"{', '.join(present) or 'no style column'}")
    return train.take(np.flatnonzero(np.isin(train.metadata["style"], wanted)))


def training_styles(training: dict) -> tuple[str, str]:
    """(value, key) of the style filter: ``style``, or ``vendor`` as runs before styles wrote it."""
    if training.get("style"):
        return str(training["style"]), "style"
    return str(training.get("vendor") or ""), "vendor"


def with_composites(train, count: int, seed: int = 0):
    """``train`` and ``count`` composites of its drawings (``data/composites.py``), none of a
    pair the composition prompts ask for: both trainers' training images."""
    return concatenate(train, composite_examples(train, count, seed=seed, exclude=composition_pairs()))


def prepare(config: dict, run: RunDir | None, resume: bool):
    """Data, tokenizer and label vocabularies (a resumed run's own; else new ones)."""
    data = load_dataset(config["data"], skip_bad=bool(config.get("skip_bad")))
    t = config["training"]
    style, key = training_styles(t)
    train = only_styles(data.subset("train"), style, f"--set {key}")
    if t.get("composites"):  # the same drawings again on resume: they follow the run's seed
        train = with_composites(train, int(t["composites"]), seed=config["seed"])
    if config["batch_size"] > len(train):
        raise UsageError(f"--batch-size {config['batch_size']}: larger than the {len(train)} training images; lower it")
    if resume:
        tokenizer = load_tokenizer(run.tokenizer_path)
        vocabularies = json.loads((run.path / "labels.json").read_text())
    else:
        sources = source_runs(config)
        for source in sources:
            source_config(source)  # one-line error when it is neither a run nor a preset
        model_class = get_model_class(config["model"])
        # What the sources' architectures are goes into the config: the run stands alone.
        config["hparams"] = model_class.pin_sources(config["hparams"], source_config)
        sources = model_class.text_source_runs(config["hparams"])
        if config.get("init_from"):  # a fine-tune reads text as its preset did
            tokenizer = load_tokenizer(Path(config["init_from"]["preset"]) / "tokenizer.json")
            t["tokenizer"], t["sequence_length"] = tokenizer.kind, sequence_length(tokenizer)
        elif sources:  # a model that starts from another run must read text the same way
            tokenizer = load_tokenizer(source_tokenizer_path(sources[0]))
            t["tokenizer"], t["sequence_length"] = tokenizer.kind, sequence_length(tokenizer)
        else:
            captions = [c for caps in train.captions for c in caps]
            tokenizer = make_tokenizer(t["tokenizer"], captions, int(t["sequence_length"]))
        fields = label_fields(config, data) if get_model_class(config["model"]).uses_labels else ()
        vocabularies = {f: train.label_vocabulary(f) for f in fields}
        config["num_classes"] = [len(v) for v in vocabularies.values()]
        config["vocabulary_size"] = tokenizer.vocabulary_size()
    return data, train, tokenizer, vocabularies


def train(config: dict, run: RunDir, resume: bool = False, dry_run: bool = False, presets_only: bool = False) -> dict:
    """Train ``config`` into ``run`` (``presets_only``: restore the run, write its presets, stop)."""
    set_determinism(config["seed"], bool(config["training"]["deterministic"]))
    set_precision(config["precision"])
    strategy = make_strategy(config["strategy"])
    suffix = worker_suffix(strategy)
    if suffix:  # a multi-worker cluster's other workers keep their own copy of the run
        run = RunDir(f"{run.path}{suffix}")
    if not resume and not dry_run:
        run.check_new()  # fail before any work if --out is taken or unwritable
    # Everything that can fail on bad settings happens before the run directory exists.
    data, train_data, tokenizer, vocabularies = prepare(config, run, resume)
    steps = epoch_steps(len(train_data), config["batch_size"], config["steps_per_epoch"])
    total_steps = steps * int(config["epochs"])
    with strategy.scope():
        model = make_model(config, tokenizer.vocabulary_size())
        compile_model(model, config, total_steps)
        if not resume:
            model.initialize_from_runs(load_source_model)
            if config.get("init_from"):
                model.warm_start(load_preset(config["init_from"]["preset"], sampling_only=True)[0])
    if int(config["training"].get("probe_every", 0)) and (model.preview != "samples" or not model.conditional):
        raise UsageError(f"--set probe_every={config['training']['probe_every']}: a {config['model']} model draws "
                         "no images from prompts to probe; leave probe_every at 0")
    if dry_run:
        print(json.dumps({k: v for k, v in config.items()}, indent=2, sort_keys=True))
        sizes = ", ".join(f"{n} {net.count_params():,} params" for n, net in model.networks().items())
        print(f"train images {len(train_data)}, {steps} steps/epoch, {sizes}; dry run: nothing written")
        return {"dry_run": True}
    if not resume:
        run.create(config)
    try:
        return fit(config, run, resume, model, data, train_data, tokenizer, vocabularies, steps, total_steps,
                   presets_only)
    except BaseException:
        # A new run that fails before its first checkpoint holds nothing to resume: remove it,
        # so that the same command (or --out) works once the cause is fixed.
        if not resume and not run.checkpoints():
            shutil.rmtree(run.path, ignore_errors=True)
            print(f"removed {run.path}: the run stopped before its first checkpoint", file=sys.stderr)
        raise


def fit(config, run, resume, model, data, train_data, tokenizer, vocabularies, steps, total_steps,
        presets_only=False) -> dict:
    """The part of ``train`` that runs inside the run directory."""
    if not resume:
        save_tokenizer(tokenizer, run.tokenizer_path)
        (run.path / "labels.json").write_text(json.dumps(vocabularies) + "\n")
    run.write_config(config)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = run.checkpoint(model, epoch)
    manager = run.manager(checkpoint)
    neutral = neutral_state(model)
    from_state = None
    if resume:
        saved = read_state(run.path) if neutral and (run.path / "state" / "progress.json").exists() else None
        restored = run.restore(checkpoint) if run.checkpoints() or saved is None else None
        if saved is not None and saved["progress"]["step"] >= train_step_count(model):
            # state/ is as new as the TensorFlow checkpoint or newer (the JAX backend trained
            # since): it wins. A run stopped mid-epoch continues from that epoch's start.
            load_model_state(model, saved, f"{run.path}/state")
            from_state, restored = saved["progress"], f"{run.path}/state"
            epoch.assign(saved["progress"]["step"] // steps)
        # The checkpoint holds state; config.json holds hyper-parameters. Learning rates are
        # optimizer variables, so restore brought back the old ones: re-apply the config's.
        model.apply_learning_rates(config["training"], total_steps)
        print(f"resumed {restored}: epoch {int(epoch.numpy())}, step {train_step_count(model)}",
              file=sys.stderr)
    initial_epoch, epochs = int(epoch.numpy()), int(config["epochs"])
    if presets_only or initial_epoch >= epochs:
        if (from_state is not None or presets_only) and model.sampling_layers():  # JAX's are made here
            write_state_presets(config, run, model, tokenizer, steps)
        if presets_only:
            return {"epochs": initial_epoch, "run": str(run.path), "step": train_step_count(model)}
        print(f"{run.path} already trained {initial_epoch} of {epochs} epochs; raise --epochs "
              "to continue", file=sys.stderr)
        return {"epochs": initial_epoch, "run": str(run.path), "step": train_step_count(model)}
    draws = model.random_draws()
    # z noise and DiffAugment keep the draws every earlier run of the zoo was trained with.
    legacy = {name: draws.pop(name)[1] for name in ("noise", "augment") if name in draws}
    dataset = make_dataset(train_data, tokenizer, config["batch_size"], seed=config["seed"],
                           initial_epoch=initial_epoch, epochs=epochs, steps_per_epoch=steps,
                           label_fields=tuple(vocabularies), label_vocabularies=vocabularies,
                           noise_dim=legacy.get("noise", (0,))[0],
                           augment_params=legacy.get("augment", (2, 0))[1], draws=draws,
                           caption_features=caption_features(model, train_data, tokenizer)
                           if model.cached_text else None,
                           balance=str(config["training"].get("balance", "none")))  # checked by config.resolve
    writer = tf.summary.create_file_writer(str(run.logs_dir))
    prompts, tags = choose_prompts(data, config["seed"])
    progress = cb.ProgressBar(steps, config["batch_size"], epochs, run.path)
    every = int(config["training"]["sample_every"])
    if model.preview == "samples":
        samples = cb.SampleGrid(prompts, tags, tokenizer, model.noise_shape, run.samples_dir, writer,
                                every=every, seed=config["seed"],
                                unconditional=not model.conditional)
    elif model.preview == "retrieval":  # a text encoder: retrieval among real emoji instead
        bank = train_data.take(np.random.default_rng(config["seed"]).permutation(len(train_data))[:1000])
        samples = cb.RetrievalGrid(prompts, tags, tokenizer, bank, data.subset("heldout"),
                                   run.samples_dir, writer, every=every)
    else:  # an image tokenizer: held-out emoji over their reconstructions
        samples = cb.ReconstructionGrid(data.subset("heldout") if len(data.subset("heldout")) else train_data,
                                        run.samples_dir, writer, every=every, seed=config["seed"])
    seconds = (from_state or {}).get("train_seconds", 0.0) - time.perf_counter()

    def after_checkpoint(done_epochs):
        if neutral:  # state/ too, which the JAX backend resumes from
            step = train_step_count(model)
            write_model_state(run.path, model, {"step": step, "images_seen": step * config["batch_size"],
                                                "train_seconds": seconds + time.perf_counter()})
        if model.sampling_layers():
            save_preset(model, tokenizer, run.path / "preset",
                        run_metadata(config, done_epochs, train_step_count(model)))

    # The checkpoint comes before the samples: an epoch's weights are safe even if drawing
    # its sample grid fails.
    callbacks = [progress, cb.EpochCheckpoint(manager, epoch, progress,
                                              after_checkpoint if model.sampling_layers() or neutral else None),
                 samples, cb.EpochLog(run.history_path, writer)]
    if int(config["training"].get("probe_every", 0)):
        callbacks.insert(2, probe_callback(config, run, data, train_data, tokenizer, model, resume))
    model.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
              callbacks=callbacks, verbose=0, shuffle=False)
    if progress.failure is not None:
        raise progress.failure
    return {"epochs": int(epoch.numpy()), "run": str(run.path),
            "step": train_step_count(model)}


def neutral_state(model) -> bool:
    """Whether a run of ``model`` keeps ``state/`` (``training/state.py``) beside its checkpoint:
    a diffusion model whose text encoder is frozen (what the JAX backend trains)."""
    return hasattr(model, "ema_denoiser") and bool(model.cached_text or getattr(model, "packed", False))


def write_state_presets(config, run, model, tokenizer, per_epoch: int) -> None:
    """``preset/`` from the model as restored, and ``probe/preset`` from the EMA the run's probe
    chose (``probe/ema-best.npz``, which the JAX backend keeps) if there is one."""
    steps = train_step_count(model)
    save_preset(model, tokenizer, run.path / "preset", run_metadata(config, round(steps / per_epoch, 3), steps))
    best = run.path / "probe" / "ema-best.npz"
    if best.exists():
        from emoji_t2i.training.state import assign_weights

        last = model.ema_denoiser.get_weights()
        record = json.loads((run.path / "probe" / "best.json").read_text())["record"]
        with np.load(best) as f:
            assign_weights(model.ema_denoiser, {k: f[k].astype(np.float32) for k in f.files},
                           f"{best} does not fit this model")
        save_preset(model, tokenizer, run.path / "probe" / "preset",
                    run_metadata(config, round(record["step"] / per_epoch, 3), record["step"]))
        model.ema_denoiser.set_weights(last)


def probe_callback(config, run, data, train_data, tokenizer, model, resume):
    """The probe (``training/probe.py``) of this run: prompts and near-copy reference from its
    data, the shipped judges; on resume the records after the restored step are dropped."""
    from emoji_t2i.evaluation.judges import Judges
    from emoji_t2i.evaluation.probe import ProbeScorer, build_probe
    from emoji_t2i.training.probe import ProbeCallback, resume_records

    judges = Judges.load()
    # composition prompts name words a run's own word vocabulary may lack; minilm's reads them all
    probe = build_probe(data, judges, train_data, seed=config["seed"],
                        composition=config["training"].get("tokenizer") == "wordpiece")

    def embed(images):
        return judges.matcher.embed_image_features(judges.classifier.features(images))

    records = resume_records(run.path, train_step_count(model)) if resume else []
    per_epoch = epoch_steps(len(train_data), config["batch_size"], config["steps_per_epoch"])

    def keep(folder):
        steps = train_step_count(model)
        save_preset(model, tokenizer, folder, run_metadata(config, round(steps / per_epoch, 3), steps))

    return ProbeCallback(ProbeScorer(probe, train_data.images, embed), tokenizer, run.path,
                         int(config["training"]["probe_every"]), keep, train_step_count, config["batch_size"],
                         num_steps=int(config["training"].get("probe_steps", 0)) or None, records=records,
                         log=lambda m: print(m, file=sys.stderr))


def train_step_count(model) -> int:
    """Updates of the model's first optimizer (the generator's, for a GAN)."""
    return int(getattr(model, next(iter(model.OPTIMIZERS))).iterations.numpy())
