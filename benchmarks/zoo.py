"""The zoo table of docs/zoo.md: every experiment of the original diary, re-run at one fixed budget.

Each row trains through the public CLI (the exact command is in the table), at the same
number of epochs over the embedded dataset, seed 0, on whatever machine runs this; its last
sample grid is copied to ``docs/zoo/<row>.png`` and its wall time and final metrics go to
``docs/zoo/results.json``. Runs live in ``runs/zoo/<row>``; a finished row is skipped and an
interrupted one resumes, so the script can be stopped and restarted.

    python benchmarks/zoo.py                     # all rows, 6 epochs each (make train's budget)
    python benchmarks/zoo.py --epochs 2 --only day5_cgan_gru,day4_vae_embedding
    python benchmarks/zoo.py --table             # print the markdown table from results.json
    python benchmarks/zoo.py --evaluate          # evaluate every finished row, the real data
                                                 # and noise (docs/zoo/eval/<row>.json)
    python benchmarks/zoo.py --eval-table        # the metrics table of docs/evaluation.md
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "zoo"
EVAL = DOCS / "eval"
MAKE_TRAIN_RUN = "runs/default-cgan"
RUNS = ROOT / "runs" / "zoo"

# An epoch of the zoo is 111 steps of 64 images, the length of an epoch when the dataset had two
# styles (7,140 training images): rows keep the budget their figures were measured at, and a
# run still draws every batch from all eight styles.
EPOCH_STEPS = 111

# A pretrained text encoder is an input to an experiment, as StackGAN's was, not part of its
# budget: at 2 epochs the char-CNN-RNN's held-out retrieval was still at chance (0.028 vs 0.031).
PRETRAIN_EPOCHS = 20

CLIP_EPOCHS = 10  # the emoji CLIP's own default budget (held-out top-1 0.49 at 10 epochs)
DAMSM_EPOCHS = 10  # the DAMSM's own default budget

# row: (experiment, what the original got, [steps: (run name, CLI args[, epochs])])
ROWS = {
    "day1_lstm_gan": ("Day 1: LSTM GAN", "the same noise for every input after 10,000 epochs",
                      [("day1_lstm_gan", ["--model", "lstm_gan"])]),
    "day2_vae_padded": ("Day 2: VAE + padded tokens", "noise at 100 epochs; low-quality copies of a few "
                        "training emoji at 10,000, context ignored",
                        [("day2_vae_padded", ["--model", "vae", "--set", "text_encoder=padded"])]),
    "day3_cgan_padded": ("Day 3: CGAN + padded tokens", "abstract shapes, hard to recognise",
                         [("day3_cgan_padded", ["--model", "cgan", "--set", "text_encoder=padded"])]),
    "day4_vae_embedding": ("Day 4: VAE + word embedding", "follows the text (smiling, cold) but cannot "
                           "compose new ones; stays near training emoji",
                           [("day4_vae_embedding", ["--model", "vae", "--set", "text_encoder=embedding"])]),
    "day5_cgan_gru": ("Day 5: CGAN + embedding + GRU", "progress, but G's loss diverged while D's fell",
                      [("day5_cgan_gru", ["--model", "cgan"])]),
    "day6_stackgan_char": ("Days 5-6: StackGAN + char-CNN-RNN", "meaningless after 574 epochs; stalled "
                           "at 184 (resources)",
                           [("day6_char_encoder", ["--model", "char_cnn_rnn"], PRETRAIN_EPOCHS),
                            ("day6_stage1", ["--model", "stackgan", "--set", "stage=1", "--set",
                                             "text_encoder=char_cnn_rnn:{runs}/day6_char_encoder"]),
                            ("day6_stage2", ["--model", "stackgan", "--set", "stage=2", "--set",
                                             "stage1_run={runs}/day6_stage1", "--set",
                                             "text_encoder=char_cnn_rnn:{runs}/day6_char_encoder"])]),
    "seed002_stackgan_wgan": ("Seed 002: StackGAN + WGAN-GP", "best of its variants (BN + Adam + "
                              "Wasserstein + dropout), stage I 4-5 h, stage II 24 h on birds",
                              [("wgan_stage1", ["--model", "stackgan", "--set", "stage=1", "--set",
                                                "loss=wgan_gp"]),
                               ("wgan_stage2", ["--model", "stackgan", "--set", "stage=2", "--set",
                                                "loss=wgan_gp", "--set", "stage1_run={runs}/wgan_stage1"])]),
    "days8_10_vq_transformer": ("Days 8-10: dVAE + transformer (DALL·E-like)", "out of memory beyond 100 "
                                "examples; the BERT output did not fit the shapes; \"needs rework\"",
                                [("days8_10_vq", ["--model", "vq"]),
                                 ("days8_10_prior", ["--model", "vq_transformer", "--set",
                                                     "image_tokenizer={runs}/days8_10_vq"])]),
    "seed001_stackganpp": ("Seed 001: StackGAN++ + CLIP", "blurry but roughly right faces (CelebA captions, "
                           "64-256 px, OpenAI CLIP)",
                           [("seed001_clip", ["--model", "clip"], CLIP_EPOCHS),
                            ("seed001_stackganpp", ["--model", "stackganpp", "--set",
                                                    "clip_run={runs}/seed001_clip"])]),
    "seed003_attngan": ("Seed 003: AttnGAN + DAMSM", "attention mostly on colour words; 45 min/epoch on a "
                        "24 GB GPU (CUB birds, 64-256 px)",
                        [("seed003_damsm", ["--model", "damsm"], DAMSM_EPOCHS),
                         ("seed003_attngan", ["--model", "attngan", "--set", "damsm_run={runs}/seed003_damsm"])]),
    "diffusion": ("The zoo's diffusion model (minilm text)", "not in the diary: the flagship, here at the "
                  "zoo's budget", [("diffusion", ["--model", "diffusion"])]),
}
SHIPPED = "emoji_t2i/presets/diffusion-emoji72"  # evaluated as its own row when present


def finished(run: Path, epochs: int) -> bool:
    history = run / "history.csv"
    return history.exists() and len(history.read_text().splitlines()) - 1 >= epochs


def train(run: Path, args: list[str], epochs: int, batch_size: int) -> float:
    """Train (or resume) one run; returns the wall seconds spent now."""
    if finished(run, epochs):
        return 0.0
    if (run / "checkpoints").exists():
        cmd = ["--resume", "--out", str(run), "--epochs", str(epochs)]
    else:
        shutil.rmtree(run, ignore_errors=True)
        cmd = [*args, "--out", str(run), "--epochs", str(epochs), "--batch-size", str(batch_size),
               "--steps-per-epoch", str(EPOCH_STEPS)]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "emoji_t2i.train", *cmd], check=True, cwd=ROOT)
    return time.perf_counter() - start


def last_metrics(run: Path) -> dict:
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: float(v) for k, v in rows[-1].items()} if rows else {}


def run_rows(names: list[str], epochs: int, batch_size: int) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    results_path = DOCS / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in names:
        title, original, steps = ROWS[name]
        entry = results.get(name, {"wall_s": {}})
        entry["epochs"] = epochs  # a row resumed to more epochs adds the new wall time
        commands = []
        for run_name, args, *step_epochs in steps:
            args = [a.replace("{runs}", str(RUNS.relative_to(ROOT))) for a in args]
            run = RUNS / run_name
            if not (run / "checkpoints").exists():
                entry["wall_s"][run_name] = 0.0  # starts from scratch
            run_epochs = step_epochs[0] if step_epochs else epochs
            spent = train(run, args, run_epochs, batch_size)
            entry["wall_s"][run_name] = entry["wall_s"].get(run_name, 0.0) + spent
            shown = args + (["--epochs", str(run_epochs)] if step_epochs else [])
            commands.append("python -m emoji_t2i.train " + " ".join(shown))
        final = RUNS / steps[-1][0]
        shutil.copy(sorted((final / "samples").glob("epoch_*.png"))[-1], DOCS / f"{name}.png")
        entry.update(title=title, original=original, commands=commands,
                     metrics={s[0]: last_metrics(RUNS / s[0]) for s in steps}, batch_size=batch_size)
        # re-read before writing: another zoo process may have finished a row meanwhile
        results = {**(json.loads(results_path.read_text()) if results_path.exists() else {}), name: entry}
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"{name}: {sum(entry['wall_s'].values()) / 60:.1f} min", flush=True)


def table() -> str:
    results = json.loads((DOCS / "results.json").read_text())
    lines = ["| experiment | command(s) | the original got | ours: last sample grid (6 noise columns) | wall time |",
             "|---|---|---|---|---:|"]
    for name in ROWS:
        if name not in results:
            continue
        r = results[name]
        commands = "<br>".join(f"`{c}`" for c in r["commands"])
        minutes = sum(r["wall_s"].values()) / 60
        lines.append(f"| {r['title']} | {commands} | {r['original']} | "
                     f"[grid](docs/zoo/{name}.png) | {minutes:.0f} min ({r['epochs']} epochs per run) |")
    return "\n".join(lines)


def evaluate_rows(names: list[str], samples: int) -> None:
    """``python -m emoji_t2i.evaluate`` on each finished row's final run, then on the real
    data (ceiling) and noise (floor); reports go to runs/zoo/eval/, their JSON to docs."""
    EVAL.mkdir(parents=True, exist_ok=True)
    results = json.loads((DOCS / "results.json").read_text()) if (DOCS / "results.json").exists() else {}
    targets = [(n, ["--run", str(RUNS / ROWS[n][2][-1][0])]) for n in names if n in results]
    if (ROOT / MAKE_TRAIN_RUN / "checkpoints").exists():  # make train's cgan: a 6-epoch reference
        targets.append(("make_train_cgan", ["--run", MAKE_TRAIN_RUN]))
    if (ROOT / SHIPPED / "config.json").exists():
        targets.append(("shipped_diffusion", ["--preset", SHIPPED]))
    for name, args in [*targets, ("real", ["--real"]), ("noise", ["--noise"])]:
        if (EVAL / f"{name}.json").exists():
            continue
        out = RUNS / "eval" / name
        subprocess.run([sys.executable, "-m", "emoji_t2i.evaluate", *args, "--samples", str(samples),
                        "--out", str(out)], check=True, cwd=ROOT)
        shutil.copy(out / "report.json", EVAL / f"{name}.json")


def overview(names: list[str], prompts=("smiling face with heart-eyes", "crying cat",
                                          "thumbs up: dark skin tone", "red heart", "pizza", "rocket",
                                          "sun", "flag: japan"), seed: int = 0) -> Path:
    """docs/zoo/overview.png: one row per experiment (and make train's cgan, and the real
    emoji), the same prompts and noise seed in every row."""
    from PIL import Image, ImageDraw

    from emoji_t2i.data import load_dataset
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.plotting import image_grid

    rows = [(ROWS[n][0], RUNS / ROWS[n][2][-1][0]) for n in names if (DOCS / f"{n}.png").exists()]
    if (ROOT / MAKE_TRAIN_RUN / "checkpoints").exists():
        rows.append(("cgan, make train (6 epochs)", ROOT / MAKE_TRAIN_RUN))
    if (ROOT / SHIPPED / "config.json").exists():
        rows.append(("diffusion, shipped preset", ROOT / SHIPPED))
    strips = []
    for title, run in rows:
        pipe = (TextToImagePipeline.from_preset(run) if (run / "config.json").exists() and run.parent.name == "presets"
                else TextToImagePipeline.from_run(run))
        images = pipe.sample(list(prompts), seed=seed)
        strips.append((title, image_grid(images, columns=len(prompts), scale=1)))
    ds = load_dataset()
    first = {}
    for i, caps in enumerate(ds.captions):
        for c in caps:
            first.setdefault(c, i)
    picked = [first[p] for p in prompts]
    strips.append((f"real ({ds.metadata['style'][picked[0]]})",
                   image_grid(ds.images[picked], list(prompts), columns=len(prompts), caption_lines=2)))
    label_w = 190
    sheet = Image.new("RGB", (label_w + strips[0][1].width, sum(s.height for _, s in strips)), "white")
    draw, y = ImageDraw.Draw(sheet), 0
    for title, strip in strips:
        sheet.paste(strip, (label_w, y))
        draw.text((6, y + strip.height // 2 - 6), title[:32], fill="black")
        y += strip.height
    path = DOCS / "overview.png"
    sheet.save(path)
    return path


def eval_table() -> str:
    titles = {n: ROWS[n][0] for n in ROWS} | {"make_train_cgan": "cgan after `make train` (6 epochs)",
                                              "shipped_diffusion": "**diffusion, the shipped preset**",
                                              "real": "**real images (partner style): ceiling**",
                                              "noise": "**uniform noise: floor**"}
    lines = ["| | FID train / held-out | KID×1000 held-out | IS held-out | R-precision train / held-out "
             "| near copies held-out | diversity (relative) | eval time |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in [*ROWS, "make_train_cgan", "shipped_diffusion", "real", "noise"]:
        path = EVAL / f"{name}.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text())
        tr, ho = report["splits"]["train"], report["splits"]["heldout"]
        lines.append(f"| {titles[name]} | {tr['fid']:.1f} / {ho['fid']:.1f} | {1000 * ho['kid']:.1f} ± "
                     f"{1000 * ho['kid_std']:.1f} | {ho['inception_score']:.2f} | {tr['r_precision']:.2f} / "
                     f"{ho['r_precision']:.2f} | {ho['near_copy_fraction']:.0%} | "
                     f"{ho['diversity_relative']:.2f} | {report['wall_seconds']:.0f} s |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=6, help="epochs per run (default 6, as make train)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--only", help="comma list of rows: " + ", ".join(ROWS))
    p.add_argument("--table", action="store_true", help="print the docs/zoo.md table and exit")
    p.add_argument("--evaluate", action="store_true", help="evaluate the finished rows (no training)")
    p.add_argument("--samples", type=int, default=1000, help="prompts per split for --evaluate")
    p.add_argument("--eval-table", action="store_true", help="print the docs/evaluation.md metrics table and exit")
    args = p.parse_args()
    if args.table or args.eval_table:
        print(table() if args.table else eval_table())
        return
    names = args.only.split(",") if args.only else list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        sys.exit(f"error: unknown row(s) {', '.join(unknown)}; rows are: {', '.join(ROWS)}")
    if args.evaluate:
        evaluate_rows(names, args.samples)
        if not args.only:  # the overview needs every row's run; --only would drop the others
            print(f"wrote {overview(names)}")
        print(eval_table())
        return
    run_rows(names, args.epochs, args.batch_size)
    print(table())


if __name__ == "__main__":
    main()
