"""Train the ``diffusion`` model's U-Net on an accelerator through Keras 3's JAX backend.

Why a second trainer: the GPU machines this project is lent have JAX with CUDA but no
TensorFlow, and cannot fetch it (no network; TensorFlow's CUDA build is ~2.5 GB of wheels).
The U-Net (``networks/unet.py``) and its learning-rate schedule are written in ``keras.ops``
alone, so the very same layers train here and sample under TensorFlow; only the train step
is written again, as a pure function (``stateless_call`` + ``optimizer.stateless_apply``)
that ``jax.jit`` compiles. The objective is the TensorFlow model's own ``DenoisingLoss``
(``schedulers/loss.py``: v-prediction under the cosine schedule, captions dropped for
classifier-free guidance) and the EMA its ``networks/ema.py``; AdamW with warm-up + cosine
decay and clipnorm 1 as there.

Nothing here imports TensorFlow. The input is a bundle written on the TensorFlow side
(``python -m emoji_t2i.train_jax bundle``: training images as lossless WebP, the frozen minilm's
features of every distinct caption, or for a U-Net with words and styles their token ids and
minilm itself, which encodes them once on the device; the U-Net's config, warm-start weights);
the output is a run directory (``config.json``, ``log.jsonl``, ``state/``, optionally EMA
``snapshots/`` and the probe's ``probe.jsonl`` + ``probe/``, see ``training/jax_probe.py``)
that ``train_jax finish`` turns into a preset; or, run by ``python -m emoji_t2i.train --backend
jax`` (``training/jax_run.py``), the TensorFlow trainer's own run folder, which either backend
resumes (``state/`` is ``training/state.py``'s format). Resume contract: ``state/`` is rewritten
atomically every ``checkpoint_minutes``, after every probe and at the end; ``--resume``
continues from it with the same data order (epoch ``e``'s permutation is a function of
``(seed, e)``) and the same noise (step ``s``'s draws are a function of ``(seed, s)``).
"""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path

import numpy as np

from emoji_t2i.errors import MissingFile, UsageError
from emoji_t2i.training.state import assign_weights, in_order, optimizer_names, read_state, weight_names, write_state

DROPOUT_STREAM = 7919  # folded into a step's key for dropout's masks, apart from its other draws


def dropout_seeds(key, step, count: int) -> list:
    """The seed states of a U-Net's ``count`` dropout layers at ``step`` (its non-trainable
    variables in ``stateless_call``): a function of the run's key and the step, so a resumed
    run replays its masks, from a stream of their own, so that the step's other draws are what
    they were before dropout existed."""
    import jax

    bits = jax.random.bits(jax.random.fold_in(jax.random.fold_in(key, step), DROPOUT_STREAM), (count, 2),
                           jax.numpy.uint32)
    return list(bits)


def set_jax_precision(name: str) -> None:
    """The run's dtype policy, with cuDNN's fused attention turned off. Under mixed_bfloat16,
    Keras's MultiHeadAttention picks cuDNN's kernel for the U-Net's self-attention, whose
    backward pass cuDNN refuses at 81 pixels ("Unsupported sequence length"); XLA's fallback
    then autotuned for over four minutes on an H200 before the first step finished
    (docs/performance.md). XLA's own attention is the path float32 takes anyway."""
    import keras

    keras.config.set_dtype_policy(name)
    keras.config.disable_flash_attention()


# --- the bundle ---------------------------------------------------------------------------------
def read_bundle_meta(path: Path) -> dict:
    if not (Path(path) / "bundle.json").exists():
        raise MissingFile(f"--bundle {path}: no bundle.json; write one with "
                                "python -m emoji_t2i.train_jax bundle --out DIR")
    return json.loads((Path(path) / "bundle.json").read_text())


def read_bundle(path: Path) -> dict:
    """Images (N, 72, 72, 4) uint8, caption slots (N, K) (-1 = none), the U-Net config and the
    warm-start weights (or None); and either caption features (U, D) float32 or, for a packed
    bundle, caption token ids (U, L), each image's style id (N,) and minilm's weights."""
    from PIL import Image

    path = Path(path)
    meta = read_bundle_meta(path)
    names = ["images.npz"] if meta.get("image_parts", 1) <= 1 else \
        [f"images-{i}.npz" for i in range(meta["image_parts"])]
    images = []
    for name in names:
        if not (path / name).exists():
            raise MissingFile(f"--bundle {path}: {name} is missing; copy every images*.npz of the bundle")
        with np.load(path / name) as f:
            encoded, offsets = f["encoded"], f["offsets"]
        images += [np.asarray(Image.open(io.BytesIO(encoded[a:b].tobytes())).convert("RGBA"))
                   for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    out = {"meta": meta, "images": np.stack(images), "weights": None}
    if (path / "captions.npz").exists() or meta.get("kind") != "stylegan":  # a StyleGAN's has images alone
        with np.load(path / "captions.npz") as f:
            out.update({k: f[k].astype(np.float32) if k == "features" else f[k] for k in f.files})
    if meta.get("packed"):
        with np.load(path / "minilm.npz") as f:
            out["minilm"] = [f[str(i)].astype(np.float32) for i in range(len(f.files))]
    if (path / "weights.npz").exists():
        with np.load(path / "weights.npz") as f:
            out["weights"] = {k: f[k].astype(np.float32) for k in f.files}
    return out


def bundle_minilm(bundle: dict):
    """The bundle's frozen minilm as a MiniLM layer (its word table cut to the captions' ids),
    under whichever backend Keras runs."""
    from emoji_t2i.networks.traced_build import built_traced
    from emoji_t2i.text.minilm import MiniLM

    tokens = bundle["tokens"]
    # the word table was cut to the ids the captions use (vocabulary_ids), renumbered 0..max
    size = len(bundle["vocabulary_ids"]) if "vocabulary_ids" in bundle else int(tokens.max()) + 1

    def build():
        encoder = MiniLM(vocabulary_size=size, max_positions=tokens.shape[1], name="minilm")
        encoder(np.zeros((1, tokens.shape[1]), np.int32))
        return encoder

    encoder = built_traced(build)
    if [tuple(w.shape) for w in encoder.weights] != [a.shape for a in bundle["minilm"]]:
        raise UsageError("the bundle's minilm.npz does not fit the MiniLM layer; write the bundle again")
    for w, a in zip(encoder.weights, bundle["minilm"], strict=True):
        w.assign(a)
    return encoder


def caption_encoder(bundle: dict):
    """A jitted (token ids (U, L) -> pooled (U, D), sequence (U, L, D), mask (U, L)) of the
    bundle's frozen minilm, under the JAX backend."""
    import jax

    encoder = bundle_minilm(bundle)
    values = [v.value for v in encoder.non_trainable_variables]

    @jax.jit
    def encode(ids):
        out = encoder.stateless_call([], values, ids)[0]
        return out["pooled"], out["sequence"], out["mask"]

    return encode


def encode_captions(bundle: dict, chunk: int = 512):
    """All the bundle's captions through its minilm: (pooled, sequence, mask) numpy arrays. The
    encoder is built once and kept in ``bundle["caption_encoder"]`` (the probe's copy of the
    bundle, with its own tokens, finds it there)."""
    if "caption_encoder" not in bundle:
        bundle["caption_encoder"] = caption_encoder(bundle)
    encode = bundle["caption_encoder"]
    tokens = bundle["tokens"]
    chunk = min(chunk, len(tokens))
    parts = []
    for i in range(0, len(tokens), chunk):
        ids = tokens[i:i + chunk]
        padded = np.concatenate([ids, np.zeros((chunk - len(ids), ids.shape[1]), ids.dtype)])
        parts.append([np.asarray(a)[: len(ids)] for a in encode(padded)])  # one shape: one compile
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def epoch_order(n: int, batch_size: int, seed: int, epoch: int, weights: np.ndarray | None = None):
    """(rows (steps, B), slot draws (steps, B) in [0, 1)) of one epoch: a function of (seed, epoch).
    A permutation of the images, or with ``weights`` (``data/balance.py``) rows drawn with
    those probabilities."""
    from emoji_t2i.data.balance import weighted_rows

    rng = np.random.default_rng([seed, epoch])
    steps = n // batch_size
    if weights is None:
        rows = rng.permutation(n)[: steps * batch_size]
    else:
        rows = weighted_rows(weights, rng.random(steps * batch_size))
    return rows.reshape(steps, batch_size), rng.random((steps, batch_size))


def caption_ids(slots: np.ndarray, rows: np.ndarray, draws: np.ndarray, real: np.ndarray | None = None) -> np.ndarray:
    """One of each row's captions, uniformly (the TensorFlow pipeline's choice); with ``real``
    (each row's count of its own captions) only those, not the keyword subsets after them."""
    counts = (slots[rows] >= 0).sum(-1)
    if real is not None:
        counts = np.minimum(counts, real[rows])
    pick = np.minimum((draws * counts).astype(np.int64), counts - 1)
    return slots[rows, pick]


def caption_conditions(bundle: dict, style_dropout: float, log=print):
    """(text arrays (numpy), ``condition(text_arrays, rows, captions, key)``): what the U-Net
    reads for a batch: cached caption features, or for a packed bundle the condition packed
    from its minilm's outputs (encoded here once per caption) with the image's style, dropped
    to "any" for ``style_dropout`` of the examples."""
    import jax

    from emoji_t2i.networks.condition import ANY_STYLE, pack_condition

    if not bundle["meta"].get("packed"):
        return [bundle["features"]], lambda text_arrays, rows, captions, key: text_arrays[0][captions]
    pooled, sequence, mask = encode_captions(bundle)  # minilm once per caption; the words stay on the device
    log(f"encoded {len(pooled)} captions with the bundle's minilm")

    def condition(text_arrays, rows, captions, key):
        pooled, sequence, mask, style = text_arrays
        style = jax.numpy.where(jax.random.uniform(key, rows.shape) < style_dropout, ANY_STYLE, style[rows])
        return pack_condition(pooled[captions], sequence[captions], mask[captions], style)

    return [pooled, sequence, mask, bundle["style"]], condition


# --- training -------------------------------------------------------------------------------------
def data_parallel(batch: int):
    """(replicated, split over the batch) shardings over every local device: each device holds
    the weights and the data and works on its share of each batch; jit partitions the step
    and all-reduces the gradients (GSPMD). One device is the plain single-device step."""
    import jax

    devices = jax.local_devices()
    if batch % len(devices):
        raise UsageError(f"--batch-size {batch}: not a multiple of the {len(devices)} devices; "
                         f"use a multiple of {len(devices)}")
    mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
    spec = jax.sharding.PartitionSpec
    return jax.sharding.NamedSharding(mesh, spec()), jax.sharding.NamedSharding(mesh, spec("batch"))


STEPS_IN_FLIGHT = 2


def bound_dispatch(losses: list) -> None:
    """Wait for the step dispatched ``STEPS_IN_FLIGHT`` steps before the latest. A jitted call
    returns before the device has run it, so the loop ran ahead of the device until something
    waited: its clock, which stops a run at its minutes and times the stretches a fitted
    schedule plans from, read the dispatcher's time. Measured on this CPU with a one-second log
    interval: no log line between step 1 and a probe at step 20 (19 steps of 0.46 s queued), so
    a fitted one-minute run on a busy CPU reached its end before it had timed a stretch, and
    never planned. Two steps in flight keep the device fed while the host prepares the next."""
    if len(losses) > STEPS_IN_FLIGHT:
        import jax

        jax.block_until_ready(losses[-STEPS_IN_FLIGHT - 1])


def train(config: dict, run: Path, resume: bool = False, log=print) -> dict:
    """Train to ``config['steps']`` (or until ``config['minutes']`` pass); returns the progress."""
    import jax
    import keras

    from emoji_t2i.data.images import premultiply, to_unit_range  # numpy + keras.ops only
    from emoji_t2i.networks.augment import GEOMETRY_LABELS, GEOMETRY_PARAMS
    from emoji_t2i.networks.ema import moved_average, warmup_decay
    from emoji_t2i.networks.lr_schedules import warmup_cosine
    from emoji_t2i.networks.traced_build import built_traced
    from emoji_t2i.networks.unet import TextConditionedUNet
    from emoji_t2i.schedulers.loss import DenoisingLoss
    from emoji_t2i.training.schedule_fit import ScheduleFit, probe_due

    if keras.backend.backend() != "jax":
        raise RuntimeError("the JAX trainer needs KERAS_BACKEND=jax set before keras is imported; "
                           "run it as python -m emoji_t2i.train_jax train")
    run.mkdir(parents=True, exist_ok=True)
    bundle = read_bundle(Path(config["bundle"]))
    set_jax_precision(config["precision"])
    augment = float(config.get("augment_probability", 0.0))
    unet_config = {**bundle["meta"]["unet"], "augment_dim": GEOMETRY_LABELS if augment > 0 else 0}
    # the run's length: the cosine's end and the loop's; --fit-schedule refits it as the run goes
    steps = int(config["steps"]) if config.get("steps") else math.inf
    batch, peak, warmup = int(config["batch_size"]), float(config["lr"]), int(config["warmup_steps"])
    decay_steps = config.get("decay_steps")  # the TensorFlow run's schedule (0: constant) where it sets one

    def learning_rate(step, length):
        return warmup_cosine(step, peak, warmup, length if decay_steps is None else decay_steps)

    # a number, not a schedule: its variable is one of the optimizer's, which the jitted step sets
    optimizer = keras.optimizers.AdamW(
        peak, weight_decay=config["weight_decay"],
        beta_1=config["beta_1"], beta_2=config["beta_2"], clipnorm=1.0, name="adamw")

    def build():
        # dropout acts in training only: the EMA (which the probe samples) is built without it
        nets = [TextConditionedUNet(**unet_config, dropout=rate, name=name)
                for name, rate in (("denoiser", float(config.get("dropout", 0.0))), ("ema_denoiser", 0.0))]
        for net in nets:
            net.build(None)
        optimizer.build(nets[0].trainable_variables)
        return nets

    denoiser, ema_net = built_traced(build)
    if bundle["weights"] is not None:
        for net in (denoiser, ema_net):  # the preset's EMA U-Net starts both, as --init-from does
            assign_weights(net, bundle["weights"],
                           f"{config['bundle']}: warm-start weights do not fit the U-Net config",
                           new=("augment_dense/",))  # a warm start may add augmentation
    if denoiser.non_trainable_weights:
        raise ValueError("the JAX trainer expects a U-Net without non-trainable weights")
    seed_count = len(denoiser.non_trainable_variables)  # one seed state per dropout layer

    trainable = [v.value for v in denoiser.trainable_variables]
    ema = [v.value for v in ema_net.weights]
    optimizer_vars = [v.value for v in optimizer.variables]
    names = {"params": weight_names(denoiser)}
    names["optimizer"] = optimizer_names(optimizer, names["params"])
    lr_slot = names["optimizer"].index("learning_rate")
    kept = [i for i in range(len(optimizer_vars)) if i != lr_slot]  # the rate is set by each step, not state
    state_names = {"params": names["params"], "optimizer": [names["optimizer"][i] for i in kept]}
    progress = {"step": 0, "images_seen": 0, "train_seconds": 0.0}
    if resume:
        saved = read_state(run)
        mismatch = f"--resume: {run}/state does not fit this U-Net"
        trainable = in_order(saved["params"], names["params"], mismatch)
        ema, progress = in_order(saved["ema"], names["params"], mismatch), saved["progress"]
        if saved["optimizer"]:
            keys = state_names["optimizer"]
            paths = [optimizer.variables[i].path for i in kept]
            if set(saved["optimizer"]) == set(paths):  # a state from before slot names
                keys = paths
            for i, array in zip(kept, in_order(saved["optimizer"], keys, mismatch), strict=True):
                optimizer_vars[i] = array
        else:  # moments restart; the step count (and so the learning rate) continues
            log(f"warning: {run}/state has no optimizer-*.npz: Adam's moments restart from zero")
            i = next(i for i, v in enumerate(optimizer.variables) if v.name == "iteration")
            optimizer_vars[i] = np.asarray(progress["step"], optimizer_vars[i].dtype)
        log(f"resuming {run} at step {progress['step']} of {progress.get('planned_steps', steps)}")
    fit, length, decay_length = None, steps, steps  # the loop's end and the cosine's, apart until a plan exists
    if config.get("fit_schedule"):
        if config.get("minutes"):
            fit = ScheduleFit(float(config["minutes"]) * 60.0, int(config.get("probe_every") or 0), steps)
            decay_length = progress.get("planned_steps", steps)  # a resumed run's rate, until timed again
        elif progress.get("planned_steps"):  # resumed without a budget: the plan it last had
            length = decay_length = int(progress["planned_steps"])
        else:
            raise UsageError("--fit-schedule fits the learning-rate schedule to --minutes; give --minutes")
    replicated, split_batch = data_parallel(batch)
    trainable = jax.device_put([jax.numpy.asarray(a) for a in trainable], replicated)
    ema = jax.device_put([jax.numpy.asarray(a) for a in ema], replicated)
    optimizer_vars = jax.device_put([jax.numpy.asarray(a) for a in optimizer_vars], replicated)

    images = jax.device_put(bundle["images"], replicated)
    text_arrays, condition = caption_conditions(bundle, float(config.get("style_dropout", 0.3)), log)
    text_arrays = jax.device_put(text_arrays, replicated)
    snapshot_steps = {int(s) for s in config.get("snapshot_steps", [])}
    key = jax.random.key(int(config["seed"]))
    objective = DenoisingLoss(condition_dropout=float(config["condition_dropout"]),
                              text_noise=float(config.get("text_noise", 0.0)), augment_probability=augment)
    decay_max = float(config["ema_decay"])

    def loss_fn(params, images, text_arrays, rows, captions, step):
        k_eps, k_t, k_keep, k_text, k_augment = jax.random.split(jax.random.fold_in(key, step), 5)
        x0 = premultiply(to_unit_range(images[rows].astype("float32")))
        text = condition(text_arrays, rows, captions, jax.random.fold_in(k_text, 1))
        draws = (jax.random.normal(k_eps, x0.shape), jax.random.uniform(k_t, (rows.shape[0],)),
                 jax.random.uniform(k_keep, (rows.shape[0],)))

        seeds = dropout_seeds(key, step, seed_count)

        def denoise(x_t, logsnr, text, keep, augment_labels=None):
            return denoiser.stateless_call(params, seeds, (x_t, logsnr, text, keep), training=True,
                                           augment_labels=augment_labels)[0]

        augment_draw = jax.random.uniform(k_augment, (rows.shape[0], GEOMETRY_PARAMS)) if augment > 0 else None
        return jax.numpy.mean(objective(denoise, x0, *draws, text, jax.random.normal(k_text, text.shape),
                                        augment_draw))

    @jax.jit
    def train_step(params, opt_vars, ema_vars, images, text_arrays, rows, captions, step, length):
        # images and text are arguments, not closed-over constants: jit would embed them
        loss, grads = jax.value_and_grad(loss_fn)(params, images, text_arrays, rows, captions, step)
        opt_vars = list(opt_vars)
        opt_vars[lr_slot] = learning_rate(step, length).astype(opt_vars[lr_slot].dtype)
        params, opt_vars = optimizer.stateless_apply(opt_vars, grads, params)
        decay = warmup_decay(step, decay_max)
        ema_vars = [moved_average(e, p, decay) for e, p in zip(ema_vars, params, strict=True)]
        return params, opt_vars, ema_vars, loss

    real_captions = None
    if not config.get("keyword_subsets", True) and bundle["meta"].get("keyword_subsets"):
        if "real_captions" not in bundle:
            raise UsageError(f"--no-keyword-subsets: the bundle {config['bundle']} does not mark its keyword "
                             "subsets; write it again with python -m emoji_t2i.train_jax bundle")
        real_captions = bundle["real_captions"]
    probe_every = int(config.get("probe_every") or 0)
    probe = records = None
    if probe_every:
        from emoji_t2i.training.jax_probe import JaxProbe, probe_and_record
        from emoji_t2i.training.probe import resume_records

        probe = JaxProbe(bundle, Path(config["bundle"]), ema_net, encode_captions, config.get("probe_steps"),
                         sharding=replicated)
        records = resume_records(run, progress["step"]) if resume else []
        # before the clock, as the step-0 probe: the probes the fitted schedule times are sampling alone
        compiled = probe.compile(ema)
        log(f"probe: {', '.join(f'{len(probe.probe.prompts[s])} {s}' for s in probe.probe.splits)} prompts "
            f"in {probe.num_steps} steps every {probe_every} steps (sampler compiled in {compiled:.1f} s)")
        if progress["step"] == 0 and bundle["weights"] is not None and not records:  # where a warm start begins
            probe_and_record(probe, run, records, ema, progress, names["params"], log)
    n = len(bundle["images"])
    weights = None
    if config.get("balance", "none") != "none":
        from emoji_t2i.data.balance import sampling_weights

        weights = sampling_weights(bundle.get("balance_group"), config["balance"])
        log(f"balance {config['balance']}: {len(np.unique(bundle['balance_group']))} emoji-and-style groups "
            f"drawn alike")
    per_epoch = min(n // batch, int(config.get("steps_per_epoch") or n))  # the TensorFlow trainer's epoch_steps
    if per_epoch == 0:
        raise UsageError(f"--batch-size {batch} exceeds the bundle's {n} images; lower it")
    budget = float(config["minutes"]) * 60.0 if config.get("minutes") else math.inf
    checkpoint_every = float(config["checkpoint_minutes"]) * 60.0
    # --minutes counts from this process's start; ``started`` restarts at each checkpoint
    # (train_seconds excludes checkpoint writes). Measuring the budget from ``started``
    # ran a 9-minute GPU call past its limit.
    run_start = started = last_checkpoint = last_log = time.perf_counter()
    logged_step, losses, order = progress["step"], [], None
    plan = None  # the fit's latest length, once a stretch was timed
    with open(run / "log.jsonl", "a") as log_file:
        while progress["step"] < length:
            step = progress["step"]
            epoch, index = divmod(step, per_epoch)
            if order is None or order[2] != epoch:
                order = (*epoch_order(n, batch, int(config["seed"]), epoch, weights), epoch)
            rows = order[0][index]
            captions = caption_ids(bundle["slots"], rows, order[1][index], real_captions)
            trainable, optimizer_vars, ema, loss = train_step(
                trainable, optimizer_vars, ema, images, text_arrays, jax.device_put(rows.astype(np.int32), split_batch),
                jax.device_put(captions.astype(np.int32), split_batch), np.int32(step),
                np.float32(decay_length))
            losses.append(loss)
            bound_dispatch(losses)
            progress["step"] += 1
            progress["images_seen"] += batch
            if progress["step"] in snapshot_steps:  # the EMA at this step, for choosing afterwards
                (run / "snapshots").mkdir(exist_ok=True)
                np.savez(run / "snapshots" / f"ema-{progress['step']:06d}.npz",
                         **{k: np.asarray(a).astype(np.float16) for k, a in zip(names["params"], ema, strict=True)})
            now = time.perf_counter()
            out_of_time = now - run_start >= budget
            finished = progress["step"] >= length or out_of_time
            if now - last_log >= float(config["log_seconds"]) or finished:
                mean_loss = float(np.mean([float(x) for x in losses]))  # waits for the device
                now = time.perf_counter()
                rate = (progress["step"] - logged_step) * batch / (now - last_log)
                record = {"step": progress["step"], "epoch": progress["step"] / per_epoch,
                          "loss": mean_loss, "images_per_second": rate,
                          "lr": float(learning_rate(progress["step"], decay_length)),
                          "elapsed_seconds": progress["train_seconds"] + now - started}
                if fit is not None and not out_of_time:  # a plan that ran out before the minutes is renewed
                    plan = fit.update(record["step"], record["elapsed_seconds"], now - run_start)
                    if plan is not None:
                        length = decay_length = plan
                    finished = progress["step"] >= length
                if config.get("fit_schedule") and (plan is not None or fit is None):  # not the cap before a plan
                    record["planned_steps"] = progress["planned_steps"] = length
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
                log(f"step {record['step']}/{length if length != math.inf else '?'} epoch {record['epoch']:.1f} "
                    f"loss {mean_loss:.4f} {rate:.0f} img/s")
                logged_step, last_log, losses = progress["step"], now, []
            probing = probe is not None and probe_due(progress["step"], probe_every, length, finished)
            if finished or probing or now - last_checkpoint >= checkpoint_every:
                # the steps dispatched ahead finish first: their time is training's, not the probe's
                jax.block_until_ready(loss)
                now = time.perf_counter()
            overhead_start = now
            if probing:  # scored on the EMA, which is what a preset samples with
                if not records or records[-1]["step"] != progress["step"]:
                    probe_and_record(probe, run, records, ema, progress, names["params"], log)
                spent, now = time.perf_counter() - now, time.perf_counter()
                started, last_log = started + spent, last_log + spent  # probing is not training
            if finished or probing or now - last_checkpoint >= checkpoint_every:
                progress["train_seconds"] += now - started
                started = now
                write_state(run, [np.asarray(a) for a in trainable],
                            [np.asarray(optimizer_vars[i]) for i in kept], [np.asarray(a) for a in ema],
                            progress, state_names)
                last_checkpoint = time.perf_counter()
                started += last_checkpoint - now  # checkpoint time is not training time
            if probing and fit is not None:
                fit.add_overhead(time.perf_counter() - overhead_start)
            if finished:
                break
    return progress
