"""The StyleGAN's training step as a stateless JAX function, for GPU machines without TensorFlow.

The networks are ``networks/stylegan.py``'s (``keras.ops`` alone) and the objective is the
TensorFlow model's own ``StyleGANLoss`` (non-saturating loss, lazy R1, style mixing, ADA's
augmentation and controller); what is written again is only what is backend-specific: the
gradients (``jax.grad``, R1's gradient with respect to the images included) and the update
order of ``StyleGAN.train_step``: G draws a batch, D takes its step on it, G takes its step
against the updated D, the EMA generator follows, ADA's p moves. Pixel noise is a draw of the
step's key, like every other random number. A test runs the TensorFlow model's
``discriminator_gradients`` / ``generator_gradients`` and these on the same weights and draws.

The path-length term (``pl_weight`` > 0, off by default) is not here yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoji_t2i.errors import UsageError

LOSS_KEYS = ("r1_gamma", "r1_interval", "mixing_prob", "ada", "ada_target", "ada_interval", "ada_speed_images")
GENERATOR_KEYS = ("z_dim", "w_dim", "mapping_depth", "conditional", "text_encoder", "text_dim")


class JaxStyleGAN:
    """G, its EMA copy and D built from a ``stylegan`` config (the model's ``get_config()``),
    with Adam for each as ``StyleGAN`` compiles them, and jit-compiled pure steps.

    State: a dict of lists of arrays, ``g``/``g_state`` (trainable / non-trainable: the
    running mean w), ``d``/``d_state`` (ADA's p is D's non-trainable weight), ``ema``,
    ``g_opt``/``d_opt`` and ``ada`` (the controller's sign sum and count).
    """

    def __init__(self, config: dict, g_lr=2e-3, d_lr=2e-4, beta_1=0.0, beta_2=0.99, ema_decay=None):
        import keras

        from emoji_t2i.networks.stylegan import StyleDiscriminator, StyleGenerator
        from emoji_t2i.networks.stylegan_loss import StyleGANLoss

        if float(config.get("pl_weight", 0.0)) > 0:
            raise UsageError("pl_weight: the JAX StyleGAN step has no path-length term; train with pl_weight=0")
        vocabulary = int(config["vocabulary_size"])
        g_args = {k: config[k] for k in GENERATOR_KEYS if k in config}
        self.generator = StyleGenerator(vocabulary, channels=config["g_channels"], name="generator", **g_args)
        self.ema_generator = StyleGenerator(vocabulary, channels=config["g_channels"], name="ema_generator", **g_args)
        self.discriminator = StyleDiscriminator(vocabulary, config["d_channels"], config.get("conditional", False),
                                                config.get("text_encoder", "embedding_gru"),
                                                config.get("text_dim", 64), name="discriminator")
        self.objective = StyleGANLoss(**{k: config[k] for k in LOSS_KEYS if k in config})
        self.ema_decay = float(config.get("ema_decay", 0.998) if ema_decay is None else ema_decay)
        self.g_optimizer = keras.optimizers.Adam(g_lr, beta_1=beta_1, beta_2=beta_2, name="g_adam")
        self.d_optimizer = keras.optimizers.Adam(d_lr, beta_1=beta_1, beta_2=beta_2, name="d_adam")

    def build(self, sequence_length: int) -> dict:
        """Builds every network and optimizer; returns the initial state."""
        from emoji_t2i.networks.traced_build import built_traced

        def build():
            for g in (self.generator, self.ema_generator):
                g.build([(None, g.z_dim), (None, sequence_length)])
            self.discriminator.build([(None, 72, 72, 4), (None, sequence_length)])
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)

        built_traced(build)
        self._p_index = [v.path for v in self.discriminator.non_trainable_variables].index(
            self.discriminator.augment_probability.path)
        self.copy_to_ema()
        return self.state()

    def copy_to_ema(self) -> None:
        """The EMA generator starts as G (as the TensorFlow model's does)."""
        weights = [*self.generator.trainable_variables, *self.generator.non_trainable_variables]
        for e, i in zip(self.ema_generator.weights, self._ema_order(), strict=True):
            e.assign(weights[i])

    def state(self) -> dict:
        """The current variables' values (after ``build``, or after ``assign``)."""
        g, d = self.generator, self.discriminator
        values = lambda variables: [v.value for v in variables]  # noqa: E731
        return {"g": values(g.trainable_variables), "g_state": values(g.non_trainable_variables),
                "d": values(d.trainable_variables), "d_state": values(d.non_trainable_variables),
                "ema": values(self.ema_generator.weights), "g_opt": values(self.g_optimizer.variables),
                "d_opt": values(self.d_optimizer.variables), "ada": [np.float32(0.0), np.float32(0.0)]}

    # --- the two halves, each a pure function of its weights ------------------------------------
    def _scores(self, d, d_state, images, tokens):
        return self.discriminator.stateless_call(d, d_state, [images, tokens], training=True)[0][:, 0]

    def discriminator_loss(self, d, d_state, real, fake, tokens, ada, step):
        """(mean loss, (per-example loss, D(real), D(fake), R1)) of D's half."""
        import jax

        objective = self.objective
        p = d_state[self._p_index]
        real_seen, fake_seen = objective.augment(real, ada[:, 0], p), objective.augment(fake, ada[:, 1], p)
        s_real = self._scores(d, d_state, real_seen, tokens)
        s_fake = self._scores(d, d_state, fake_seen, tokens)

        def r1():
            grads = jax.grad(lambda x: jax.numpy.sum(self._scores(d, d_state, x, tokens)))(real_seen)
            return objective.r1_penalty(grads)

        zeros = jax.numpy.zeros_like(s_real)
        r1_values = jax.lax.cond(objective.r1_due(step), r1, lambda: zeros) if objective.r1_gamma > 0 else zeros
        per_example = objective.discriminator_loss(s_real, s_fake, r1_values)
        return jax.numpy.mean(per_example), (per_example, s_real, s_fake, r1_values)

    def fake_images(self, g, g_state, z, mix_z, mix, tokens, noise):
        """(images, G's non-trainable values after the mapping's running-mean update)."""
        import keras

        g_vars = self.generator
        mapping = [*zip(g_vars.trainable_variables, g, strict=True),
                   *zip(g_vars.non_trainable_variables, g_state, strict=True)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            ws = self.objective.mixed_ws(g_vars, z, mix_z, mix, tokens)
            images = keras.ops.cast(g_vars.synthesis(ws, noise, training=True), "float32")
            new_state = [scope.get_current_value(v) for v in g_vars.non_trainable_variables]
        return images, new_state

    def generator_loss(self, g, g_state, d, d_state, z, mix_z, mix, tokens, ada, noise):
        """(mean loss, (per-example loss, G's new non-trainable values)) of G's half."""
        import jax

        fake, new_state = self.fake_images(g, g_state, z, mix_z, mix, tokens, noise)
        p = d_state[self._p_index]
        s_fake = self._scores(d, d_state, self.objective.augment(fake, ada[:, 1], p), tokens)
        per_example = self.objective.generator_loss(s_fake)
        return jax.numpy.mean(per_example), (per_example, new_state)

    def pixel_noise(self, key, batch: int) -> dict:
        import jax

        shapes = self.generator.synthesis.noise_shapes()
        keys = jax.random.split(key, len(shapes))
        return {name: jax.random.normal(k, (batch, *shape))
                for k, (name, shape) in zip(keys, shapes.items(), strict=True)}

    # --- one whole step --------------------------------------------------------------------------
    def train_step(self, state: dict, real, tokens, z, mix_z, mix, ada, key, step):
        """One step of ``StyleGAN.train_step``'s order; returns (new state, logs). jit it."""
        import jax

        from emoji_t2i.networks.ema import moved_average, warmup_decay

        noise = self.pixel_noise(key, real.shape[0])
        fake, _ = self.fake_images(state["g"], state["g_state"], z, mix_z, mix, tokens, noise)
        (d_loss, (_, s_real, s_fake, r1)), d_grads = jax.value_and_grad(self.discriminator_loss, has_aux=True)(
            state["d"], state["d_state"], real, jax.lax.stop_gradient(fake), tokens, ada, step)
        d_new, d_opt = self.d_optimizer.stateless_apply(state["d_opt"], d_grads, state["d"])
        d_state = list(state["d_state"])
        p = d_state[self._p_index]
        p_new, sign_sum, count = self.objective.adapt(p, state["ada"][0], state["ada"][1], jax.numpy.sign(s_real),
                                                      step)
        (g_loss, (_, g_state)), g_grads = jax.value_and_grad(self.generator_loss, has_aux=True)(
            state["g"], state["g_state"], d_new, d_state, z, mix_z, mix, tokens, ada, noise)
        g_new, g_opt = self.g_optimizer.stateless_apply(state["g_opt"], g_grads, state["g"])
        d_state[self._p_index] = p_new
        decay = warmup_decay(step + 1, self.ema_decay)  # G's optimizer has counted this step
        order = self._ema_order()
        ema = [moved_average(e, (g_new + g_state)[i], decay) for e, i in zip(state["ema"], order, strict=True)]
        logs = {"d_loss": jax.numpy.mean(self.objective.discriminator_loss(s_real, s_fake, 0.0)),
                "g_loss": g_loss, "augment_p": p, "r_t": jax.numpy.mean(jax.numpy.sign(s_real)),
                "r1_penalty": jax.numpy.sum(r1) / jax.numpy.maximum(jax.numpy.sum(r1 > 0), 1.0)}
        new_state = {"g": g_new, "g_state": g_state, "d": d_new, "d_state": d_state, "ema": ema,
                     "g_opt": g_opt, "d_opt": d_opt, "ada": [sign_sum, count]}
        return new_state, {**logs, "d_loss_total": d_loss}

    def _ema_order(self) -> list[int]:
        """For each EMA weight, its index in G's trainable + non-trainable values."""
        if "_order" not in self.__dict__:
            paths = [v.path.split("/", 1)[1] for v in
                     (*self.generator.trainable_variables, *self.generator.non_trainable_variables)]
            self._order = [paths.index(v.path.split("/", 1)[1]) for v in self.ema_generator.weights]
        return self._order


# --- the run ---------------------------------------------------------------------------------------
STATE_GROUPS = ("g", "g_state", "d", "d_state", "ema", "g_opt", "d_opt")


def state_names(model: JaxStyleGAN) -> dict[str, list[str]]:
    """Each state group's keys: weights by their path below the network, optimizer variables
    by their own paths (``weight_names`` of the diffusion trainer)."""
    from emoji_t2i.training.state import weight_names

    g, d = model.generator, model.discriminator
    below = lambda net, variables: [v.path.split("/", 1)[1] if v.path.startswith(net.name + "/") else v.path  # noqa: E731
                                    for v in variables]
    return {"g": below(g, g.trainable_variables), "g_state": below(g, g.non_trainable_variables),
            "d": below(d, d.trainable_variables), "d_state": below(d, d.non_trainable_variables),
            "ema": weight_names(model.ema_generator),
            "g_opt": [v.path for v in model.g_optimizer.variables],
            "d_opt": [v.path for v in model.d_optimizer.variables]}


def train(config: dict, run: Path, resume: bool = False, log=print) -> dict:
    """Train to ``config['steps']`` (or until ``config['minutes']`` pass) on an image bundle whose
    ``bundle.json`` carries the StyleGAN's config; the run folder and resume contract are the
    diffusion trainer's (``config.json``, ``log.jsonl``, ``state/`` by name, the same data
    order for a resumed run; step ``s``'s draws are a function of ``(seed, s)``)."""
    import json
    import math
    import time

    import jax
    import keras

    from emoji_t2i.data.images import to_unit_range
    from emoji_t2i.networks.augment import ADA_PARAMS
    from emoji_t2i.training.jax_diffusion import bound_dispatch, data_parallel, epoch_order, read_bundle
    from emoji_t2i.training.state import in_order, replace_state

    if keras.backend.backend() != "jax":
        raise RuntimeError("the JAX trainer needs KERAS_BACKEND=jax set before keras is imported")
    run.mkdir(parents=True, exist_ok=True)
    bundle = read_bundle(Path(config["bundle"]))
    if "stylegan" not in bundle["meta"]:
        raise UsageError(f"--bundle {config['bundle']}: no StyleGAN config in it; write it with "
                         "python -m emoji_t2i.train_jax bundle --model stylegan")
    keras.config.set_dtype_policy(config["precision"])
    model = JaxStyleGAN(bundle["meta"]["stylegan"], config["g_lr"], config["d_lr"], config["beta_1"],
                        config["beta_2"])
    sequence_length = int(bundle["meta"].get("sequence_length", 16))
    state = model.build(sequence_length)
    names = state_names(model)
    progress = {"step": 0, "images_seen": 0, "train_seconds": 0.0}
    if resume:
        saved = run / "state"
        if not (saved / "progress.json").exists():
            raise UsageError(f"--resume: {saved} has no checkpoint; start without --resume")
        from emoji_t2i.training.state import load_arrays

        mismatch = f"--resume: {saved} does not fit this StyleGAN"
        for group in STATE_GROUPS:
            state[group] = in_order(load_arrays(saved, group), names[group], mismatch)
        ada = load_arrays(saved, "ada")
        state["ada"] = [np.float32(ada["sign_sum"]), np.float32(ada["count"])]
        progress = json.loads((saved / "progress.json").read_text())
        log(f"resuming {run} at step {progress['step']} of {config['steps']}")
    steps, batch = int(config["steps"]), int(config["batch_size"])
    replicated, split_batch = data_parallel(batch)
    state = jax.device_put(jax.tree_util.tree_map(jax.numpy.asarray, state), replicated)
    images = jax.device_put(bundle["images"], replicated)
    tokens = jax.numpy.zeros((batch, sequence_length), "int32")  # unconditional: read by nothing
    z_dim, base = int(model.generator.z_dim), jax.random.key(int(config["seed"]))

    @jax.jit
    def step_fn(state, images, rows, step):
        k_z, k_mix_z, k_mix, k_ada, k_noise = jax.random.split(jax.random.fold_in(base, step), 5)
        real = to_unit_range(images[rows].astype("float32"))
        z, mix_z = jax.random.normal(k_z, (batch, z_dim)), jax.random.normal(k_mix_z, (batch, z_dim))
        mix, ada = jax.random.uniform(k_mix, (batch, 2)), jax.random.uniform(k_ada, (batch, 2, ADA_PARAMS))
        return model.train_step(state, real, tokens, z, mix_z, mix, ada, k_noise, step)

    def save():
        groups = {g: ([np.asarray(a) for a in state[g]], names[g]) for g in STATE_GROUPS}
        groups["ada"] = ([np.asarray(a) for a in state["ada"]], ["sign_sum", "count"])
        replace_state(run, groups, progress)

    n = len(bundle["images"])
    per_epoch = n // batch
    if per_epoch == 0:
        raise UsageError(f"--batch-size {batch} exceeds the bundle's {n} images; lower it")
    budget = float(config["minutes"]) * 60.0 if config.get("minutes") else math.inf
    run_start = started = last_checkpoint = last_log = time.perf_counter()
    logged_step, history, order = progress["step"], [], None
    with open(run / "log.jsonl", "a") as log_file:
        while progress["step"] < steps:
            epoch, index = divmod(progress["step"], per_epoch)
            if order is None or order[1] != epoch:
                order = (epoch_order(n, batch, int(config["seed"]), epoch)[0], epoch)
            rows = jax.device_put(order[0][index].astype(np.int32), split_batch)
            state, logs = step_fn(state, images, rows, np.int32(progress["step"]))
            history.append(logs)
            bound_dispatch(history)
            progress["step"] += 1
            progress["images_seen"] += batch
            now = time.perf_counter()
            finished = progress["step"] >= steps or now - run_start >= budget
            if now - last_log >= float(config["log_seconds"]) or finished:
                means = {k: float(np.mean([float(h[k]) for h in history])) for k in history[0]}
                now = time.perf_counter()
                rate = (progress["step"] - logged_step) * batch / (now - last_log)
                record = {"step": progress["step"], "epoch": progress["step"] / per_epoch, **means,
                          "images_per_second": rate, "elapsed_seconds": progress["train_seconds"] + now - started}
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
                log(f"step {record['step']}/{steps} d_loss {means['d_loss']:.3f} g_loss {means['g_loss']:.3f} "
                    f"p {means['augment_p']:.3f} {rate:.0f} img/s")
                logged_step, last_log, history = progress["step"], now, []
            if finished or now - last_checkpoint >= float(config["checkpoint_minutes"]) * 60.0:
                progress["train_seconds"] += now - started
                started = now
                save()
                last_checkpoint = time.perf_counter()
                started += last_checkpoint - now  # checkpoint time is not training time
            if finished:
                break
    return progress
