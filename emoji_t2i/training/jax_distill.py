"""Guided progressive distillation of a diffusion preset on Keras 3's JAX backend.

``python -m emoji_t2i.train_jax distill --bundle B --out R --stages 8,4`` runs every stage in
one command: stage 1's teacher is the bundle's U-Net under classifier-free guidance (its
preset's guidance interval included: two predictions per step from one batched call) taking
2 x 8 DDIM steps, and its student, the same U-Net plus a guidance-scale input, learns to take
8; each later stage's teacher is the previous student, halving again (8 -> 4). The objective
is ``GuidedDistillationLoss`` (``schedulers/distillation.py``); the guidance scale is drawn
per example from ``guidance_range``, so the student serves any scale in it.

Run directory and resume contract as ``train_jax train``'s (``config.json``, ``log.jsonl``,
``state/``, rewritten atomically every ``checkpoint_minutes`` and at the end of each stage;
``--resume`` continues with the same data order and draws), plus ``stages/student-N-*.npz``,
each finished stage's student (the next stage's teacher; ``train_jax finish`` makes a preset of
the last one, or of ``--stage N``). ``--resume --extend-last STEPS`` runs a finished run's last
stage again for STEPS more optimiser steps, from its student and optimizer state, the rate
warmed up and decayed anew, and replaces that stage's student: a longer distillation of the
last stage without repeating the others.

A stage's length is ``--stage-steps``, or with ``--fit-schedule`` what fits in an equal share of
the minutes left when the stage begins (``training/schedule_fit.py``, as ``train_jax train
--fit-schedule``): the learning rate is a variable the jitted step sets from the planned length,
and a stage ends at its plan or when its share is spent, so every stage finishes within one
GPU call and each decay ends with its share.

No EMA of the student: each stage starts from a network that already samples (its teacher),
and Salimans & Ho train each stage for a fixed, short budget with a decaying learning rate.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from emoji_t2i.errors import MissingFile, UsageError
from emoji_t2i.training.jax_diffusion import (
    bound_dispatch,
    caption_conditions,
    caption_ids,
    data_parallel,
    epoch_order,
    read_bundle,
    set_jax_precision,
)
from emoji_t2i.training.state import assign_weights, in_order, load_arrays, replace_state, save_arrays, weight_names


def copy_by_path(target, source) -> None:
    """``source``'s weights into ``target`` wherever their paths below the network's own name
    agree; a student's new layers (the guidance input) keep their initial values."""
    by_name = dict(zip(weight_names(source), source.weights, strict=True))
    for name, w in zip(weight_names(target), target.weights, strict=True):
        if name in by_name:
            w.assign(by_name[name])


def stage_files(run: Path) -> dict[int, Path]:
    """{student steps: folder prefix} of the stages the run has finished."""
    found = {}
    for file in sorted((run / "stages").glob("student-*-0.npz")):
        found[int(file.name.split("-")[1])] = file
    return found


def read_student(run: Path, steps: int) -> dict:
    """{weight name: array} of the run's student of ``steps`` steps."""
    if not (run / "stages" / f"student-{steps}-0.npz").exists():
        raise MissingFile(f"{run}/stages has no {steps}-step student; finished: "
                          f"{sorted(stage_files(run)) or 'none'}")
    return load_arrays(run / "stages", f"student-{steps}")


def stage_step(student_net, original, optimizer, objective, condition, key, first_teacher: bool,
               interval, guidance_range, learning_rate, lr_slot: int):
    """A jitted (student, optimizer variables, teacher weights, images, text arrays, rows,
    captions, step, length) -> (student, optimizer variables, loss) of one stage. The first
    teacher is ``original`` under guidance; later ones are the student network with earlier
    weights. ``learning_rate(step, length)`` sets the optimizer's rate variable (``lr_slot``)
    inside the step, so a stage's length fitted as it goes needs no recompile."""
    import jax

    from emoji_t2i.data.images import premultiply, to_unit_range
    from emoji_t2i.schedulers.distillation import guided_teacher

    def loss_fn(params, teacher_params, images, text_arrays, rows, captions, step):
        k_eps, k_step, k_guidance, k_style = jax.random.split(jax.random.fold_in(key, step), 4)
        x0 = premultiply(to_unit_range(images[rows].astype("float32")))
        text = condition(text_arrays, rows, captions, k_style)
        ones = jax.numpy.ones((rows.shape[0],))

        def student(x_t, logsnr, text, guidance):
            return student_net.stateless_call(params, [], (x_t, logsnr, text, ones, guidance), training=True)[0]

        if first_teacher:
            teacher = guided_teacher(lambda x_t, logsnr, text, keep: original.stateless_call(
                teacher_params, [], (x_t, logsnr, text, keep))[0], interval)
        else:
            def teacher(x_t, logsnr, text, guidance):
                return student_net.stateless_call(teacher_params, [], (x_t, logsnr, text, ones, guidance))[0]

        guidance = jax.random.uniform(k_guidance, (rows.shape[0],), minval=guidance_range[0],
                                      maxval=guidance_range[1])
        return jax.numpy.mean(objective(student, teacher, x0, jax.random.normal(k_eps, x0.shape),
                                        jax.random.uniform(k_step, (rows.shape[0],)), guidance, text))

    @jax.jit
    def step_fn(params, opt_vars, teacher_params, images, text_arrays, rows, captions, step, length):
        loss, grads = jax.value_and_grad(loss_fn)(params, teacher_params, images, text_arrays, rows, captions, step)
        opt_vars = list(opt_vars)
        opt_vars[lr_slot] = learning_rate(step, length).astype(opt_vars[lr_slot].dtype)
        params, opt_vars = optimizer.stateless_apply(opt_vars, grads, params)
        return params, opt_vars, loss

    return step_fn


def distill(config: dict, run: Path, resume: bool = False, log=print) -> dict:
    """Run every stage of ``config['stages']``; returns the progress."""
    import jax
    import keras

    from emoji_t2i.networks.lr_schedules import warmup_cosine
    from emoji_t2i.networks.traced_build import built_traced
    from emoji_t2i.networks.unet import TextConditionedUNet
    from emoji_t2i.schedulers.distillation import GuidedDistillationLoss
    from emoji_t2i.training.schedule_fit import ScheduleFit

    if keras.backend.backend() != "jax":
        raise RuntimeError("the distiller needs KERAS_BACKEND=jax set before keras is imported; "
                           "run it as python -m emoji_t2i.train_jax distill")
    run.mkdir(parents=True, exist_ok=True)
    bundle = read_bundle(Path(config["bundle"]))
    if bundle["weights"] is None:
        raise UsageError(f"--bundle {config['bundle']}: it carries no weights, so there is no teacher; "
                         "write it with train_jax bundle --init-from PRESET (without --no-weights)")
    set_jax_precision(config["precision"])
    unet_config = {**bundle["meta"]["unet"], "guidance_input": False}

    def build():
        nets = (TextConditionedUNet(**unet_config, name="denoiser"),
                TextConditionedUNet(**{**unet_config, "guidance_input": True}, name="denoiser"))
        for net in nets:
            net.build(None)
        return nets

    original, student_net = built_traced(build)
    assign_weights(original, bundle["weights"], f"{config['bundle']}: its weights do not fit its U-Net config")
    copy_by_path(student_net, original)  # a new student is its teacher's conditional prediction

    stages, batch = [int(n) for n in config["stages"]], int(config["batch_size"])
    # each stage's length: --stage-steps, or with --fit-schedule what fits in the stage's share
    # of the minutes left (--stage-steps then a cap)
    cap = int(config["stage_steps"]) if config.get("stage_steps") else math.inf
    fit_schedule = bool(config.get("fit_schedule"))
    peak, warmup = float(config["lr"]), int(config["warmup_steps"])

    def learning_rate(step, length):
        return warmup_cosine(step, peak, warmup, length)
    low, high = (float(g) for g in config["guidance_range"])
    interval = config.get("guidance_interval")
    progress = {"stage": 0, "step": 0, "images_seen": 0, "train_seconds": 0.0}
    saved_student, saved_optimizer = None, None
    if resume:
        if not (run / "state" / "progress.json").exists():
            raise MissingFile(f"--resume: {run}/state has no checkpoint; start without --resume")
        progress = json.loads((run / "state" / "progress.json").read_text())
        saved_student = load_arrays(run / "state", "student")
        saved_optimizer = load_arrays(run / "state", "optimizer")
        log(f"resuming {run}: its {len(stages)} stages have finished" if progress["stage"] >= len(stages) else
            f"resuming {run} at stage {progress['stage'] + 1} of {len(stages)}, step {progress['step']}")
        extension = config.get("extension")
        if extension:
            if progress["stage"] < len(stages):
                raise UsageError(f"--extend-last: {run} is at stage {progress['stage'] + 1} of {len(stages)}; "
                                 "finish it with --resume alone first")
            # the images seen so far also seed its draws: an extension's noise is not its stage's again
            progress.update(stage=len(stages) - 1, step=0, extending=int(extension["steps"]),
                            extension_seed=int(progress["images_seen"]),
                            extension_lr=float(extension.get("lr") or peak),
                            extension_warmup=int(warmup if extension.get("warmup_steps") is None
                                                 else extension["warmup_steps"]))
            log(f"extending stage {len(stages)} ({stages[-1]} steps) by {progress['extending']} steps, "
                f"rate {progress['extension_lr']:g}")
    elif config.get("extension"):
        raise UsageError("--extend-last continues a finished run: give --resume and its --out")
    if progress.get("extending"):  # the extension's length and rate, also when a killed one resumes
        cap = int(progress["extending"])
        peak, warmup = float(progress["extension_lr"]), int(progress["extension_warmup"])
    replicated, split_batch = data_parallel(batch)
    put = lambda arrays: jax.device_put([jax.numpy.asarray(a) for a in arrays], replicated)  # noqa: E731
    images = jax.device_put(bundle["images"], replicated)
    text_arrays, condition = caption_conditions(bundle, float(config.get("style_dropout", 0.3)), log)
    text_arrays = put(text_arrays)
    original_params = put([v.value for v in original.weights])
    key = jax.random.key(int(config["seed"]))
    n = len(bundle["images"])
    per_epoch = n // batch
    if per_epoch == 0:
        raise UsageError(f"--batch-size {batch} exceeds the bundle's {n} images; lower it")
    budget = float(config["minutes"]) * 60.0 if config.get("minutes") else math.inf
    if fit_schedule and budget == math.inf:
        raise UsageError("--fit-schedule fits each stage's length to its share of --minutes; give --minutes")
    if cap == math.inf and not fit_schedule:
        raise UsageError("a distillation needs --stage-steps, or --fit-schedule with --minutes")
    run_start = time.perf_counter()

    with open(run / "log.jsonl", "a") as log_file:
        while progress["stage"] < len(stages):
            stage = progress["stage"]
            steps = stages[stage]
            # named: Keras numbers a second default-named optimizer ("adam_1"), and the state
            # files key its variables by path; a number, not a schedule: the step sets its variable
            optimizer = keras.optimizers.Adam(peak, beta_1=0.9, beta_2=0.99, clipnorm=1.0, name="distillation")
            built_traced(lambda: optimizer.build(student_net.trainable_variables))  # noqa: B023 (called at once)
            paths = [v.path for v in optimizer.variables]
            lr_slot = [v.name for v in optimizer.variables].index("learning_rate")
            kept = [i for i in range(len(paths)) if i != lr_slot]  # the rate is each step's, not state
            names = {"student": weight_names(student_net), "optimizer": [paths[i] for i in kept]}
            mismatch = f"{run}: its saved student does not fit the bundle's U-Net"
            if stage == 0:
                teacher_params, first_teacher = original_params, True
                student = [v.value for v in student_net.trainable_variables]
            else:  # the previous stage's student teaches, and starts, this one
                teacher_params = put(in_order(read_student(run, stages[stage - 1]), names["student"], mismatch))
                first_teacher, student = False, list(teacher_params)
            optimizer_vars = [v.value for v in optimizer.variables]
            # resuming inside this stage, or extending it from where it ended
            if saved_student is not None and (progress["step"] > 0 or progress.get("extending")):
                student = in_order(saved_student, names["student"], mismatch)
                saved_optimizer = {k: v for k, v in saved_optimizer.items() if k != paths[lr_slot]}
                for i, array in zip(kept, in_order(saved_optimizer, names["optimizer"], mismatch), strict=True):
                    optimizer_vars[i] = array
            saved_student = None  # (a checkpoint at a stage's end holds the finished student)
            student, optimizer_vars = put(student), put(optimizer_vars)
            if student_net.non_trainable_weights:
                raise ValueError("the distiller expects a U-Net without non-trainable weights")

            stage_key = jax.random.fold_in(key, stage)
            if "extension_seed" in progress:
                stage_key = jax.random.fold_in(stage_key, progress["extension_seed"])
            step_fn = stage_step(student_net, original, optimizer, GuidedDistillationLoss(steps), condition,
                                 stage_key, first_teacher, interval, (low, high),
                                 learning_rate, lr_slot)
            started = last_checkpoint = last_log = stage_start = time.perf_counter()
            fit, length, decay_length, deadline = None, cap, cap, math.inf
            if fit_schedule:  # an equal share of what is left, compiling this stage's step included
                share = (budget - (stage_start - run_start)) / (len(stages) - stage)
                fit, deadline = ScheduleFit(share, 0, cap), stage_start + share
                decay_length = progress.get("planned_steps", cap)  # a resumed stage's rate, until timed again
                log(f"stage {stage + 1}/{len(stages)}: {2 * steps} -> {steps} steps, fitted to {share / 60:.1f} min")
            else:
                log(f"stage {stage + 1}/{len(stages)}: {2 * steps} -> {steps} steps")
            logged_step, losses, order, plan = progress["step"], [], None, None
            while progress["step"] < length:
                step = progress["step"]
                # the run's position in the data: every earlier stage's steps, then this one's
                epoch, index = divmod(progress["images_seen"] // batch, per_epoch)
                if order is None or order[2] != epoch:
                    order = (*epoch_order(n, batch, int(config["seed"]), epoch), epoch)
                rows = order[0][index]
                captions = caption_ids(bundle["slots"], rows, order[1][index])
                student, optimizer_vars, loss = step_fn(
                    student, optimizer_vars, teacher_params, images, text_arrays,
                    jax.device_put(rows.astype(np.int32), split_batch),
                    jax.device_put(captions.astype(np.int32), split_batch), np.int32(step),
                    np.float32(decay_length))
                losses.append(loss)
                bound_dispatch(losses)
                progress["step"] += 1
                progress["images_seen"] += batch
                now = time.perf_counter()
                out_of_time = now - run_start >= budget
                stage_done = progress["step"] >= length or now >= deadline
                if now - last_log >= float(config["log_seconds"]) or stage_done or out_of_time:
                    mean_loss = float(np.mean([float(x) for x in losses]))  # waits for the device
                    now = time.perf_counter()
                    rate = (progress["step"] - logged_step) * batch / (now - last_log)
                    record = {"stage": stage + 1, "student_steps": steps, "step": progress["step"],
                              "loss": mean_loss, "images_per_second": rate,
                              "lr": float(learning_rate(progress["step"], decay_length)),
                              "elapsed_seconds": progress["train_seconds"] + now - started}
                    if "extending" in progress:  # which extension: finish counts each one's steps apart
                        record.update(extending=progress["extending"], extension_from=progress["extension_seed"],
                                      extension_lr=progress["extension_lr"])
                    if fit is not None and not (stage_done or out_of_time):
                        plan = fit.update(record["step"], record["elapsed_seconds"], now - stage_start)
                        if plan is not None:
                            length = decay_length = plan
                        stage_done = progress["step"] >= length
                    if plan is not None:  # not the cap before a plan
                        record["planned_steps"] = progress["planned_steps"] = length
                    log_file.write(json.dumps(record) + "\n")
                    log_file.flush()
                    log(f"stage {stage + 1} ({steps} steps) step {progress['step']}/"
                        f"{length if length != math.inf else '?'} loss {mean_loss:.5f} {rate:.1f} img/s")
                    logged_step, last_log, losses = progress["step"], now, []
                if stage_done:
                    (run / "stages").mkdir(exist_ok=True)
                    save_arrays(run / "stages", f"student-{steps}", [np.asarray(a) for a in student], names["student"])
                    progress.update(stage=stage + 1, step=0)
                    for name in ("planned_steps", "extending", "extension_seed", "extension_lr", "extension_warmup"):
                        progress.pop(name, None)
                if stage_done or out_of_time or now - last_checkpoint >= float(config["checkpoint_minutes"]) * 60:
                    progress["train_seconds"] += now - started
                    started = now
                    replace_state(run, {"student": ([np.asarray(a) for a in student], names["student"]),
                                        "optimizer": ([np.asarray(optimizer_vars[i]) for i in kept],
                                                      names["optimizer"])},
                                  progress)
                    last_checkpoint = time.perf_counter()
                    started += last_checkpoint - now
                if stage_done:
                    break
                if out_of_time:
                    return progress
    return progress
