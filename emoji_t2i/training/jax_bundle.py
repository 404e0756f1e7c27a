"""The TensorFlow side of the JAX trainer (``training/jax_diffusion.py``): what it reads, and
what becomes of what it writes.

``write_bundle``: a diffusion preset's U-Net config and weights, the training images (WebP
bytes) and the frozen minilm's features of every distinct training caption, in files that
numpy and Pillow read. ``write_preset``: a JAX run's weights back into the preset format,
so that ``generate``, ``evaluate``, ``export`` and the app use them like any other preset.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from emoji_t2i.data import load_dataset
from emoji_t2i.data.balance import balance_groups
from emoji_t2i.data.pipeline import caption_table
from emoji_t2i.errors import MissingFile, UsageError
from emoji_t2i.evaluation.probe import CHECKPOINT_RULE as PROBE_RULE
from emoji_t2i.evaluation.probe import save_probe
from emoji_t2i.pipelines import load_preset, save_preset
from emoji_t2i.pipelines.presets import shipped_presets
from emoji_t2i.text.tokenizers import save_tokenizer, sequence_length
from emoji_t2i.training.environment import set_determinism
from emoji_t2i.training.loop import (
    make_model,
    neutral_state,
    only_styles,
    prepare,
    training_styles,
    with_composites,
)
from emoji_t2i.training.probe import read_records
from emoji_t2i.training.state import assign_weights, read_state, weight_names

UNET_KEYS = ("text_dim", "widths", "blocks", "embedding_dim", "heads", "cross_attention", "styles",
             "context_dim", "augment_dim")
KEYWORD_SUBSETS = 2  # extra captions per image: random subsets of its keywords, joined by commas


def keyword_subsets(captions: list[str], seed: int, count: int = KEYWORD_SUBSETS) -> list[str]:
    """``count`` captions of 2 or 3 of an emoji's keywords (its name aside), in a random order:
    "hash, keycap" beside "keycap: #". Deterministic in ``seed``; none for fewer than 3 keywords."""
    keywords = [c for c in captions[1:] if c]
    if len(keywords) < 3:
        return []
    rng = np.random.default_rng(seed)
    return [", ".join(rng.choice(keywords, size=min(len(keywords), int(rng.integers(2, 4))), replace=False))
            for _ in range(count)]


def minilm_arrays(tokens: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """The frozen minilm's weights in float16 (``MiniLM.weights`` order) with its word table cut
    to the ids ``tokens`` uses, and ``tokens`` renumbered into it: 24 MB that travel instead of
    the 91 MB package, and the original id of each row of the cut table. Id 0 (padding) stays 0."""
    from emoji_t2i.text.minilm import shared_minilm

    used = np.unique(np.concatenate([[0], tokens.ravel()]))
    renumber = np.zeros(int(used.max()) + 1, np.int32)
    renumber[used] = np.arange(len(used), dtype=np.int32)
    encoder = shared_minilm()
    arrays = {}
    for i, w in enumerate(encoder.weights):
        a = np.asarray(w)
        if w.path.endswith("word_embeddings/embeddings"):
            a = a[used]
        elif w.path.endswith("position_embeddings/embeddings"):
            a = a[: tokens.shape[1]]
        arrays[str(i)] = a.astype(np.float16)
    return arrays, renumber[tokens], used.astype(np.int32)


def _diffusion_preset(init_from: str):
    model, tokenizer, info = load_preset(init_from)
    if info["model"] != "diffusion":
        raise UsageError(f"--init-from {init_from}: a {info['model']} preset; the JAX trainer "
                         "trains diffusion presets (diffusion-emoji72 or a diffusion run's preset) and stylegan ones")
    if not (model.cached_text or model.packed):  # a frozen minilm, pooled or with its words
        raise UsageError(f"--init-from {init_from}: its text encoder ({model.text_encoder_kind}) "
                         "trains with the U-Net; the JAX trainer reads cached minilm features only")
    return model, tokenizer, info


def write_bundle(init_from: str, out: Path, data: str = "embedded", style: str = "",
                 limit: int | None = None, weights: bool = True, command: str = "",
                 cross_attention: bool = False, style_conditioning: bool = False, parts: int = 1,
                 probe: bool = True, identities: int | None = None, composites: int = 0) -> dict:
    """Write ``out``/{bundle.json, images.npz, captions.npz[, weights.npz]}; returns bundle.json.

    Sized to travel (the GPU machine takes 64 MiB a call): images as lossless WebP (exact
    RGB under transparent pixels too; 25 % smaller than PNG here), caption features in
    float16 (minilm's unit vectors lose < 1e-3 relative; the U-Net normalises them anyway).
    ``weights=False`` leaves the U-Net's weights out: the run starts from scratch (the preset
    then gives only the architecture). ``limit`` keeps the first N training images (tests);
    ``identities`` every style's drawing of N training emoji drawn at random (seed 0): a
    small set on which a short run shows memorisation setting in. ``composites`` adds that many
    drawings of a subject wearing or carrying another emoji (``data/composites.py``), never
    one of the pairs the composition prompts ask for.

    ``cross_attention`` / ``style_conditioning`` make a U-Net that reads the packed condition
    (``networks/condition.py``): the bundle then holds each caption's token ids and the
    frozen minilm itself (``minilm_arrays``), since its token features (24 x 384 per caption)
    would not travel; the trainer runs the encoder once per caption on the device. Every
    image gets ``KEYWORD_SUBSETS`` extra captions from its keywords. ``parts`` splits the
    images over that many files, for a bundle that travels in several calls.

    ``probe`` adds ``probe.json`` + ``probe.npz`` (``evaluation/probe.py``: the probe's prompts
    as the U-Net reads them, their judged captions, the near-copy threshold against these
    training images, the judges' image side), which ``train --probe-every`` measures."""
    model, tokenizer, info = _diffusion_preset(init_from)
    dataset = load_dataset(data)
    train = only_styles(dataset.subset("train"), style, "--style")
    if limit:
        train = train.take(np.arange(min(limit, len(train))))
    if identities:
        known = np.unique(train.identity)
        if identities > len(known):
            raise UsageError(f"--identities {identities}: the training split has {len(known)} emoji; ask for fewer")
        chosen = np.random.default_rng(0).choice(known, identities, replace=False)
        train = train.take(np.flatnonzero(np.isin(train.identity, chosen)))
    if composites:
        train = with_composites(train, composites)
    packed = cross_attention or style_conditioning
    styles = sorted({str(s) for s in train.metadata["style"] if str(s)}) if style_conditioning else []
    unet, grown = model.ema_denoiser, False
    if weights and packed and not (model.cross_attention == bool(cross_attention) and len(model.styles) == len(styles)):
        from emoji_t2i.networks.unet import grow_unet

        try:  # a U-Net that lacks the asked conditioning gains it, starting as the preset samples
            unet = grow_unet(model.ema_denoiser, cross_attention=bool(cross_attention), styles=len(styles))
        except ValueError:
            raise UsageError(f"--init-from {init_from}: its U-Net has conditioning the one asked for lacks "
                             f"(cross-attention {model.cross_attention}, {len(model.styles)} styles); pass "
                             "the same conditioning, or --no-weights to train from scratch") from None
        grown = True
    # a shipped preset by its name (the path is this machine's), anything else by its path
    lineage = {"preset": init_from if init_from in shipped_presets() else info["preset"],
               **{k: info["metadata"].get(k) for k in ("command", "epochs", "steps", "init_from")}}
    return write_model_bundle(model, tokenizer, dataset, train, out, packed=packed, styles=styles,
                              cross_attention=cross_attention, weights=weights, probe=probe, parts=parts,
                              unet=unet, meta={"command": command, "data": data, "style": style,
                                               "identities": identities, "composites": composites,
                                               "init_from": {**lineage, "grown": grown}})


def write_model_bundle(model, tokenizer, dataset, train, out: Path, packed: bool, styles: list[str],
                       cross_attention: bool, weights: bool = True, probe: bool = True, parts: int = 1,
                       meta: dict | None = None, exact_weights: bool = False, unet=None) -> dict:
    """``write_bundle``'s work for a built diffusion ``model`` (a preset's, or the one a
    ``python -m emoji_t2i.train --backend jax`` run resolved) on the images of ``train``;
    ``styles`` numbers the images' styles for a style-conditioned U-Net; ``meta`` joins
    bundle.json (command, data, style, identities, init_from); ``exact_weights`` stores the
    U-Net in float32 even in a packed bundle (a run that must start where TensorFlow's would);
    ``unet`` the network whose weights start the run (default the model's EMA U-Net; a grown one,
    ``networks/unet.py: grow_unet``, when the preset lacked the conditioning asked for)."""
    unet = model.ema_denoiser if unet is None else unet
    probe_set = judges = None
    if probe:
        from emoji_t2i.evaluation.judges import Judges
        from emoji_t2i.evaluation.probe import build_probe

        judges = Judges.load()
        probe_set = build_probe(dataset, judges, train, composition=packed)
    probe_texts = [p for split in probe_set.splits for p in probe_set.prompts[split]] if probe_set else []
    captions = [list(c) for c in train.captions]
    if packed:
        captions = [c + keyword_subsets(c, seed=i) for i, c in enumerate(captions)]
    table, counts = caption_table(captions)
    unique = sorted({c for row in table for c in row if c})
    index = {c: i for i, c in enumerate(unique)}
    slots = np.array([[index[c] if c else -1 for c in row] for row in table], np.int32)
    caption_arrays = {"slots": slots, "balance_group": balance_groups(train.identity, train.metadata["style"])}
    if packed:
        import tensorflow as tf

        texts = unique + probe_texts  # the probe's words must survive the vocabulary cut too
        tokens = np.concatenate([np.asarray(tokenizer(tf.constant(texts[i:i + 1024])))
                                 for i in range(0, len(texts), 1024)]).astype(np.int32)
        minilm, tokens, caption_arrays["vocabulary_ids"] = minilm_arrays(tokens)
        caption_arrays["tokens"], probe_arrays = tokens[: len(unique)], {"tokens": tokens[len(unique):]}
        caption_arrays["real_captions"] = np.array([len(c) for c in train.captions], np.int32)  # subsets follow
        caption_arrays["style"] = np.array([styles.index(str(s)) if str(s) in styles else -1
                                            for s in train.metadata["style"]], np.int32)
    else:
        caption_arrays["features"] = model.encode_captions(unique, tokenizer).astype(np.float16)
        probe_arrays = {"features": model.encode_captions(probe_texts, tokenizer).astype(np.float32)
                        if probe_texts else np.zeros((0, 1), np.float32)}

    tmp = Path(str(out) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _write_images(tmp, train.images, parts)
    np.savez(tmp / "captions.npz", **caption_arrays)
    if packed:
        np.savez(tmp / "minilm.npz", **minilm)
    if probe_set is not None:
        save_probe(probe_set, tmp, judges, extra=probe_arrays)
    unet_config = {k: v for k, v in unet.get_config().items() if k in UNET_KEYS}
    if packed:
        unet_config.update(cross_attention=bool(cross_attention), styles=len(styles))
    if weights:  # a preset stores the EMA U-Net; like --init-from, it starts both U-Nets
        # float16 in a packed bundle: 10 MB instead of 20, so that a warm start travels with
        # two of three image parts in one call (the run trains in float32 from them)
        dtype = np.float16 if packed and not exact_weights else np.float32
        np.savez(tmp / "weights.npz", **{name: np.asarray(w).astype(dtype) for name, w in
                                         zip(weight_names(unet), unet.weights, strict=True)})
    meta = {"format": 2 if packed else 1, "unet": unet_config, "images": len(train),
            "captions": len(unique), "caption_slots": int(counts.sum()), "command": "", "data": "", "style": "",
            "identities": None, "packed": packed, "styles": styles, "image_parts": max(1, parts),
            "keyword_subsets": KEYWORD_SUBSETS if packed else 0,
            "condition_dropout": model.condition_dropout, "text_noise": model.text_noise,
            "augment_probability": model.augment_probability, "dropout": model.dropout,
            "sampling": {"num_steps": model.num_steps, "guidance_scale": model.guidance_scale,
                         "guidance_interval": model.guidance_interval},
            "warm_start": bool(weights),
            "probe": {split: len(probe_set.prompts[split]) for split in probe_set.splits} if probe_set else None,
            "init_from": None, **(meta or {})}
    (tmp / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return meta


def prepare_run(config: dict, run, resume: bool = False, dry_run: bool = False) -> None:
    """The TensorFlow side of ``--backend jax``: a new run's folder (config, tokenizer, labels)
    and, new or resumed, its ``bundle/`` (``write_model_bundle``): the training images,
    the caption features or minilm, the probe; a new run's U-Net weights as TensorFlow built
    them (seeded; warm-started by ``--init-from``), so that either backend starts alike."""
    if resume and (run.path / "bundle" / "bundle.json").exists():
        return
    set_determinism(config["seed"], bool(config["training"]["deterministic"]))
    if not resume and not dry_run:
        run.check_new()
    data, train_data, tokenizer, vocabularies = prepare(config, run, resume)
    model = make_model(config, tokenizer.vocabulary_size())
    model.build_for_sampling(sequence_length(tokenizer))
    if not neutral_state(model):
        raise UsageError(f"--backend jax: trains a diffusion model with a frozen minilm text encoder, not this "
                         f"{config['model']} (text_encoder={config['hparams'].get('text_encoder')}); "
                         "drop --backend jax or --set text_encoder=minilm")
    if not resume and config.get("init_from"):
        model.warm_start(load_preset(config["init_from"]["preset"], sampling_only=True)[0])
    if dry_run:
        print(json.dumps(config, indent=2, sort_keys=True))
        print(f"train images {len(train_data)}, denoiser {model.denoiser.count_params():,} params; "
              "dry run: nothing written")
        return
    if not resume:
        run.create(config)
        save_tokenizer(tokenizer, run.tokenizer_path)
        (run.path / "labels.json").write_text(json.dumps(vocabularies) + "\n")
    print(f"writing {run.path / 'bundle'} ({len(train_data)} images)", file=sys.stderr)
    try:
        write_model_bundle(model, tokenizer, data, train_data, run.path / "bundle", packed=bool(model.packed),
                           styles=list(model.styles), cross_attention=bool(model.cross_attention),
                           weights=not resume, probe=bool(int(config["training"].get("probe_every", 0))),
                           exact_weights=True, meta={"command": config.get("command", ""), "data": config["data"],
                                                     "style": training_styles(config["training"])[0],
                                                     "init_from": config.get("init_from")})
    except BaseException:
        if not resume:  # as a TensorFlow run that fails before its first checkpoint: nothing to resume
            shutil.rmtree(run.path, ignore_errors=True)
            print(f"removed {run.path}: the run stopped before its first checkpoint", file=sys.stderr)
        raise


def _write_images(folder: Path, images, parts: int) -> None:
    """``images`` as lossless WebP in ``parts`` files (images.npz, or images-0.npz, ...)."""
    blobs = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(image, np.uint8), "RGBA").save(
            buffer, format="WEBP", lossless=True, quality=100, method=4, exact=True)  # 6: 2 % smaller, 20x slower
        blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
    for part, rows in enumerate(np.array_split(np.arange(len(blobs)), max(1, parts))):
        chosen = [blobs[i] for i in rows]
        offsets = np.concatenate([[0], np.cumsum([len(b) for b in chosen])]).astype(np.int64)
        name = "images.npz" if parts <= 1 else f"images-{part}.npz"
        np.savez(folder / name, encoded=np.concatenate(chosen), offsets=offsets)


def write_stylegan_bundle(init_from: str, out: Path, data: str = "embedded", style: str = "",
                          limit: int | None = None, parts: int = 1, command: str = "") -> dict:
    """A StyleGAN's bundle: the training images and the preset's StyleGAN config (the run
    starts from scratch in that architecture; ``train_jax finish`` takes the tokenizer from
    the same preset)."""
    model, tokenizer, info = load_preset(init_from)
    if info["model"] != "stylegan":
        raise UsageError(f"--init-from {init_from}: a {info['model']} preset, not a stylegan one")
    if model.conditional:
        raise UsageError(f"--init-from {init_from}: a text-conditional StyleGAN; the JAX trainer trains the "
                         "unconditional one")
    train = only_styles(load_dataset(data).subset("train"), style, "--style")
    if limit:
        train = train.take(np.arange(min(limit, len(train))))
    tmp = Path(str(out) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _write_images(tmp, train.images, parts)
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}
    meta = {"format": 2, "kind": "stylegan", "command": command, "stylegan": config, "images": len(train),
            "data": data, "style": style, "image_parts": max(1, parts),
            "sequence_length": int(tokenizer([""]).shape[1]),
            "init_from": {"preset": init_from if init_from in shipped_presets() else info["preset"]}}
    (tmp / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return meta


def _write_stylegan_preset(run: Path, out: Path, config: dict, init_from: str, command: str) -> Path:
    """A StyleGAN preset from a JAX run: the EMA generator and D (ADA's p included) by name,
    the tokenizer and everything else from ``init_from``."""
    from emoji_t2i.training.state import load_arrays

    model, tokenizer, _ = load_preset(init_from)
    state = run / "state"
    if not (state / "progress.json").exists():
        raise MissingFile(f"--run {run}: no state/progress.json; the run wrote no checkpoint yet")
    mismatch = f"--run {run}: its StyleGAN does not fit {init_from}'s; pass the preset its bundle came from"
    assign_weights(model.ema_generator, load_arrays(state, "ema"), mismatch)
    assign_weights(model.discriminator, {**load_arrays(state, "d"), **load_arrays(state, "d_state")}, mismatch)
    progress = json.loads((state / "progress.json").read_text())
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["images_per_second"] for r in log[1:]] or [r["images_per_second"] for r in log]
    bundle = config["bundle_meta"]
    metadata = {
        "model": "stylegan", "command": " ; ".join(c for c in (bundle.get("command"), command) if c),
        "trainer": "emoji_t2i.train_jax (Keras 3, JAX backend)", "device": config.get("device"),
        "precision": config["precision"], "data": bundle["data"], "style": bundle.get("style", ""),
        "batch_size": config["batch_size"], "seed": config["seed"], "steps": progress["step"],
        "images_seen": progress["images_seen"], "epochs": round(progress["images_seen"] / bundle["images"], 1),
        "train_minutes": round(progress["train_seconds"] / 60.0, 1),
        "images_per_second_median": float(np.median(rates)) if rates else None,
        "final_losses": {k: log[-1][k] for k in ("d_loss", "g_loss", "augment_p")} if log else None,
        "training": {k: config[k] for k in ("g_lr", "d_lr", "beta_1", "beta_2")},
        "architecture_from": init_from, "init_from": None,
    }
    return save_preset(model, tokenizer, Path(out), metadata)


def write_preset(run: Path, out: Path, init_from: str | None = None, command: str = "",
                 snapshot: Path | None = None, stage: int | None = None, final: bool = False) -> Path:
    """A preset from a JAX run: ``init_from`` (default: the preset its bundle came from) gives
    the tokenizer and everything but the U-Nets, which take the run's weights and EMA (for a
    distillation run, the student of ``stage`` steps, by default the last finished). The EMA
    is ``snapshot`` if given, else the one the run's probe chose (``probe/ema-best.npz``)
    unless ``final``, else the last."""
    run = Path(run)
    if not (run / "config.json").exists():
        raise MissingFile(f"--run {run}: no config.json; pass a folder written by "
                                "python -m emoji_t2i.train_jax train")
    config = json.loads((run / "config.json").read_text())
    bundle = config["bundle_meta"]
    if bundle.get("kind") == "stylegan":
        return _write_stylegan_preset(run, out, config, init_from or bundle["init_from"]["preset"], command)
    model, tokenizer, _ = _diffusion_preset(init_from or bundle["init_from"]["preset"])
    if config.get("kind") == "distill":
        return _write_student_preset(run, out, config, model, tokenizer, command, stage)
    if stage is not None:
        raise UsageError(f"--stage {stage}: {run} is a training run, not a distillation; leave --stage out")
    augment, dropout = float(config.get("augment_probability", 0.0)), float(config.get("dropout", 0.0))
    if bundle.get("packed") or augment != model.augment_probability or dropout != model.dropout:
        # the architecture the bundle (and the run) asked for, the rest from the preset
        model_config = {**model.get_config(), "text_noise": config.get("text_noise", 0.0),
                        "augment_probability": augment, "dropout": dropout}
        if bundle.get("packed"):
            model_config.update(cross_attention=bundle["unet"]["cross_attention"], styles=bundle["styles"],
                                style_dropout=config.get("style_dropout", 0.3))
        for key in ("name", "trainable", "dtype"):
            model_config.pop(key, None)
        model = type(model)(**model_config)
        model.build_for_sampling(int(tokenizer([""]).shape[1]))
    state = read_state(run)
    probe_best = run / "probe" / "best.json"
    chosen = json.loads(probe_best.read_text()) if snapshot is None and not final and probe_best.exists() else None
    if chosen is not None:
        snapshot = run / "probe" / "ema-best.npz"
    if snapshot is not None:  # an EMA kept along the way instead of the last one
        with np.load(snapshot) as f:
            state["ema"] = {k: f[k].astype(np.float32) for k in f.files}
    params = state["params"] or state["ema"]  # only the EMA came back: the preset samples from it alone
    for net, arrays in ((model.denoiser, params), (model.ema_denoiser, state["ema"])):
        assign_weights(net, arrays, f"--run {run}: its U-Net does not fit the preset's; pass the "
                                    "preset its bundle was written from as --init-from")
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["images_per_second"] for r in log[1:]] or [r["images_per_second"] for r in log]
    progress = state["progress"]
    metadata = {
        "model": "diffusion", "command": " ; ".join(c for c in (bundle.get("command"), command) if c),
        "trainer": "emoji_t2i.train_jax (Keras 3, JAX backend)",
        "device": config.get("device"), "precision": config["precision"], "data": bundle["data"],
        "style": bundle.get("style", bundle.get("vendor", "")),
        "batch_size": config["batch_size"], "seed": config["seed"],
        "steps": progress["step"], "images_seen": progress["images_seen"],
        "epochs": round(progress["images_seen"] / bundle["images"], 1),
        "train_minutes": round(progress["train_seconds"] / 60.0, 1),
        "images_per_second_median": float(np.median(rates)) if rates else None,
        "final_loss": log[-1]["loss"] if log else None,
        "training": {**{k: config[k] for k in ("lr", "warmup_steps", "weight_decay", "beta_1", "beta_2",
                                               "ema_decay", "condition_dropout")},
                     # the cosine's length: a fitted run's last plan (train_jax train --fit-schedule)
                     "steps": progress.get("planned_steps") if config.get("fit_schedule") else config["steps"],
                     **({"fit_schedule_minutes": config.get("minutes")} if config.get("fit_schedule") else {}),
                     "text_noise": config.get("text_noise", 0.0), "augment_probability": augment,
                     **({"dropout": dropout} if dropout else {}),
                     **({"style_dropout": config.get("style_dropout", 0.3),
                         "keyword_subsets": bundle.get("keyword_subsets", 0) if config.get("keyword_subsets", True)
                         else 0} if bundle.get("packed") else {})},
        "snapshot": Path(snapshot).name if snapshot else None,
        "ema_step": chosen["record"]["step"] if chosen else
        int(Path(snapshot).stem.split("-")[-1]) if snapshot else progress["step"],
        "probe": {"chosen": chosen["record"] if chosen else None, "rule": PROBE_RULE,
                  "records": read_records(run)} if (run / "probe.jsonl").exists() else None,
        # from scratch, the preset gave the architecture only: no lineage to record
        "init_from": bundle["init_from"] if bundle.get("warm_start") else None,
        "architecture_from": bundle["init_from"]["preset"],
    }
    return save_preset(model, tokenizer, Path(out), metadata)


def _write_student_preset(run: Path, out: Path, config: dict, teacher, tokenizer, command: str,
                          stage: int | None) -> Path:
    from emoji_t2i.training.jax_distill import read_student, stage_files

    finished = sorted(stage_files(run), reverse=True)
    if not finished:
        raise MissingFile(f"--run {run}: no stage has finished yet; resume the distillation first")
    steps = finished[-1] if stage is None else int(stage)
    arrays = read_student(run, steps)
    bundle = config["bundle_meta"]
    # dropout 0: the student trained without it, whatever its teacher's run used
    model_config = {**teacher.get_config(), "guidance_input": True, "num_steps": steps, "sampler": "ddim",
                    "guidance_interval": config.get("guidance_interval"), "dropout": 0.0}
    for key in ("name", "trainable", "dtype"):
        model_config.pop(key, None)
    if bundle.get("packed"):
        model_config.update(cross_attention=bundle["unet"]["cross_attention"], styles=bundle["styles"])
    model = type(teacher)(**model_config)
    model.build_for_sampling(int(tokenizer([""]).shape[1]))
    for net in (model.denoiser, model.ema_denoiser):
        assign_weights(net, arrays, f"--run {run}: its student does not fit the teacher preset's U-Net; pass "
                                    "the preset its bundle was written from as --init-from")
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    done = config["stages"][: config["stages"].index(steps) + 1]
    records = [r for r in log if r.get("student_steps") in done]
    rates = [r["images_per_second"] for r in records]
    segments, peaks = {}, {}  # (student steps, which extension) -> optimiser steps run, its peak rate
    for r in records:
        segment = (r["student_steps"], r.get("extension_from"))
        segments[segment] = max(segments.get(segment, 0), r["step"])
        peaks[segment] = r.get("extension_lr")
    steps_run = {str(n): sum(v for (k, _), v in segments.items() if k == n) for n in done}
    metadata = {
        "model": "diffusion", "command": " ; ".join(c for c in (bundle.get("command"), command) if c),
        "trainer": "emoji_t2i.train_jax distill (Keras 3, JAX backend)",
        "device": config.get("device"), "precision": config["precision"], "data": bundle["data"],
        "batch_size": config["batch_size"], "seed": config["seed"],
        "distillation": {"teacher": bundle["init_from"]["preset"], "teacher_sampling": config.get("teacher_sampling"),
                         "stages": done, "steps_per_stage": config["stage_steps"],
                         "optimiser_steps": steps_run,  # per stage, its extensions (--extend-last) included
                         "extensions": [{"student_steps": k, "steps": v, "lr": peaks[k, e]}
                                        for (k, e), v in segments.items() if e is not None],
                         "images_seen": sum(steps_run.values()) * config["batch_size"],
                         "guidance_range": config["guidance_range"],
                         "guidance_interval": config.get("guidance_interval"),
                         "lr": config["lr"], "warmup_steps": config["warmup_steps"],
                         "final_loss": records[-1]["loss"] if records else None},
        # elapsed_seconds counts the whole run's distillation time (checkpoints excluded)
        "train_minutes": round(records[-1]["elapsed_seconds"] / 60.0, 1) if records else None,
        "images_per_second_median": float(np.median(rates)) if rates else None,
        "init_from": bundle["init_from"], "architecture_from": bundle["init_from"]["preset"],
    }
    return save_preset(model, tokenizer, Path(out), metadata)
