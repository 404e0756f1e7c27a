"""Training a zoo model from a resolved config: data -> vectorizer -> model -> fit()."""

from __future__ import annotations

import json
import sys

import keras
import numpy as np
import tensorflow as tf

from emoji_t2i.data import load_dataset
from emoji_t2i.data.pipeline import epoch_steps, make_dataset
from emoji_t2i.data.vectorizers import load_vectorizer, make_vectorizer, save_vectorizer, sequence_length
from emoji_t2i.models import get_model_class
from emoji_t2i.models.layers import AUGMENT_PARAMS
from emoji_t2i.training import callbacks as cb
from emoji_t2i.training.environment import make_strategy, set_determinism, set_precision
from emoji_t2i.training.run_dir import RunDir

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
    cls = get_model_class(config["model"])
    return cls.source_runs(config["hparams"]) if hasattr(cls, "source_runs") else []


def make_model(config: dict, vocabulary_size: int):
    cls = get_model_class(config["model"])
    extra = {"num_classes": config["num_classes"]} if getattr(cls, "uses_labels", False) else {}
    return cls(vocabulary_size, **extra, **config["hparams"])


def compile_model(model, config: dict) -> None:
    t = config["training"]
    adam = lambda lr: keras.optimizers.Adam(lr, beta_1=t["beta_1"], beta_2=t["beta_2"])  # noqa: E731
    optimizers = {name: adam(t[key]) for name, key in model.OPTIMIZERS.items()}
    model.compile(**optimizers, jit_compile=bool(t["jit_compile"]))
    model.build_all(int(t["sequence_length"]))


def prepare(config: dict, run: RunDir | None, resume: bool):
    """Data, vectorizer and label vocabularies (a resumed run's own; else new ones)."""
    data = load_dataset(config["data"])
    train = data.subset("train")
    t = config["training"]
    if resume:
        vectorizer = load_vectorizer(run.vectorizer_path)
        vocabularies = json.loads((run.path / "labels.json").read_text())
    else:
        sources = source_runs(config)
        for source in sources:
            RunDir(source).load_config()  # one-line error when it is not a run
        if sources:  # a model that starts from another run must read text the same way
            vectorizer = load_vectorizer(RunDir(sources[0]).vectorizer_path)
            t["vectorizer"], t["sequence_length"] = vectorizer.kind, sequence_length(vectorizer)
        else:
            captions = [c for caps in train.captions for c in caps]
            vectorizer = make_vectorizer(t["vectorizer"], captions, int(t["sequence_length"]))
        uses_labels = getattr(get_model_class(config["model"]), "uses_labels", False)
        fields = label_fields(config, data) if uses_labels else ()
        vocabularies = {f: train.label_vocabulary(f) for f in fields}
        config["num_classes"] = [len(v) for v in vocabularies.values()]
        config["vocabulary_size"] = vectorizer.vocabulary_size()
    return data, train, vectorizer, vocabularies


def train(config: dict, run: RunDir, resume: bool = False, dry_run: bool = False) -> dict:
    set_determinism(config["seed"], bool(config["training"]["deterministic"]))
    set_precision(config["precision"])
    strategy = make_strategy(config["strategy"])
    if not resume and not dry_run:
        run.check_new()  # fail before any work if --out is taken or unwritable
    # Everything that can fail on bad settings happens before the run directory exists.
    data, train_data, vectorizer, vocabularies = prepare(config, run, resume)
    with strategy.scope():
        model = make_model(config, vectorizer.vocabulary_size())
        compile_model(model, config)
        if not resume and hasattr(model, "initialize_from_runs"):
            model.initialize_from_runs()
    steps = epoch_steps(len(train_data), config["batch_size"], config["steps_per_epoch"])
    if dry_run:
        print(json.dumps({k: v for k, v in config.items()}, indent=2, sort_keys=True))
        sizes = ", ".join(f"{n} {net.count_params():,} params" for n, net in model.networks().items())
        print(f"train images {len(train_data)}, {steps} steps/epoch, {sizes}; dry run: nothing written")
        return {"dry_run": True}
    if not resume:
        run.create(config)
        save_vectorizer(vectorizer, run.vectorizer_path)
        (run.path / "labels.json").write_text(json.dumps(vocabularies) + "\n")
    run.write_config(config)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = run.checkpoint(model, epoch)
    manager = run.manager(checkpoint)
    if resume:
        restored = run.restore(checkpoint)
        # The checkpoint holds state; config.json holds hyper-parameters. Learning rates are
        # optimizer variables, so restore brought back the old ones: re-apply the config's.
        for name, key in model.OPTIMIZERS.items():
            getattr(model, name).learning_rate = float(config["training"][key])
        print(f"resumed {restored}: epoch {int(epoch.numpy())}, step {train_step_count(model)}",
              file=sys.stderr)
    initial_epoch, epochs = int(epoch.numpy()), int(config["epochs"])
    if initial_epoch >= epochs:
        print(f"{run.path} already trained {initial_epoch} of {epochs} epochs; raise --epochs "
              "to continue", file=sys.stderr)
        return {"epochs": initial_epoch, "run": str(run.path)}
    dataset = make_dataset(train_data, vectorizer, config["batch_size"], seed=config["seed"],
                           initial_epoch=initial_epoch, epochs=epochs, steps_per_epoch=steps,
                           label_fields=tuple(vocabularies), label_vocabularies=vocabularies,
                           noise_dim=model.noise_dim, augment_params=AUGMENT_PARAMS)
    writer = tf.summary.create_file_writer(str(run.logs_dir))
    prompts, tags = choose_prompts(data, config["seed"])
    progress = cb.ProgressBar(steps, config["batch_size"], epochs, run.path)
    every = int(config["training"]["sample_every"])
    if getattr(model, "is_generator", True):
        samples = cb.SampleGrid(prompts, tags, vectorizer, model.noise_dim, run.samples_dir, writer,
                                every=every, seed=config["seed"])
    else:  # a text encoder: retrieval among real emoji instead of samples
        bank = train_data.take(np.random.default_rng(config["seed"]).permutation(len(train_data))[:1000])
        samples = cb.RetrievalGrid(prompts, tags, vectorizer, bank, data.subset("heldout"),
                                   run.samples_dir, writer, every=every)
    callbacks = [progress, samples, cb.EpochLog(run.history_path, writer),
                 cb.EpochCheckpoint(manager, epoch, progress)]
    model.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
              callbacks=callbacks, verbose=0, shuffle=False)
    if progress.failure is not None:
        raise progress.failure
    return {"epochs": int(epoch.numpy()), "run": str(run.path),
            "step": train_step_count(model)}


def train_step_count(model) -> int:
    """Updates of the model's first optimizer (the generator's, for a GAN)."""
    return int(getattr(model, next(iter(model.OPTIMIZERS))).iterations.numpy())
