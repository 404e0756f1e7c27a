"""The app's figures, from the shipped diffusion model: mash-up methods side by side on 16
pairs (scored by the evaluation matcher) and 8 photos emojified at several strengths.

    pip install scikit-image   # its bundled sample photos (public domain / CC0); no download
    python benchmarks/app_figures.py --out-dir docs/app

Writes mashup_methods.png (per pair: both prompts' samples, then each method at mix 0.5),
mashup_mix.png (the default method across the mix slider), emojify_strengths.png (per photo:
the 72x72 crop, then strengths) and app_figures.json (the matcher's scores and wall times).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoji_t2i.console import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
from emoji_t2i.evaluation.judges import Judges  # noqa: E402
from emoji_t2i.pipelines import TextToImagePipeline  # noqa: E402
from emoji_t2i.pipelines.editing_options import MASHUP_METHODS  # noqa: E402
from emoji_t2i.plotting import save_grid  # noqa: E402

PAIRS = [  # dataset captions: what the model draws best, joined as Emoji Kitchen joins them
    ("crying cat face", "smiling face with heart-shaped eyes"), ("ghost", "grinning face"),
    ("pile of poo", "smiling face with sunglasses"), ("cat face", "face with tears of joy"),
    ("jack-o-lantern", "smiling face with horns"), ("sun with face", "sleeping face"),
    ("alien monster", "winking face"), ("skull", "smiling face with halo"),
    ("panda face", "angry face"), ("frog face", "crown"), ("pig face", "face with medical mask"),
    ("robot face", "loudly crying face"), ("dog face", "face with stuck-out tongue"),
    ("snowman", "smiling face with smiling eyes"), ("unicorn face", "rainbow"), ("red apple", "grinning face"),
]
PHOTOS = [  # (loader, prompt): skimage's bundled photos and matplotlib's, all public domain or CC0
    ("skimage:astronaut", "person"), ("matplotlib:grace_hopper.jpg", "woman"),
    ("skimage:camera", "man"), ("skimage:chelsea", "cat face"), ("skimage:coffee", "hot beverage"),
    ("skimage:rocket", "rocket"), ("skimage:hubble_deep_field", "milky way"), ("skimage:horse", "horse"),
]
STRENGTHS = (0.7, 0.8, 0.85, 0.9, 0.95, 1.0)


def both_parts(judges, images, pairs, per_pair):
    """Fractions of images whose first prompt, second prompt, and both, the matcher ranks above
    every prompt of the other pairs."""
    prompts = [p for pair in pairs for p in pair]
    text = judges.text_embeddings(prompts)
    text = text / np.linalg.norm(text, axis=1, keepdims=True)
    feats, _ = judges.image_outputs(images)
    img = judges.image_embeddings(feats)
    img = img / np.linalg.norm(img, axis=1, keepdims=True)
    sims = img @ text.T
    first = second = both = 0
    for i in range(len(images)):
        k = i // per_pair
        others = np.delete(sims[i], [2 * k, 2 * k + 1]).max()
        a, b = sims[i, 2 * k] > others, sims[i, 2 * k + 1] > others
        first, second, both = first + a, second + b, both + (a and b)
    n = len(images)
    return {"first": first / n, "second": second / n, "both": both / n}


def mashups(pipe, judges, out_dir, seeds):
    rows, scores, seconds = [], {}, {}
    ends = {}
    for a, b in PAIRS:
        images = pipe.mashup(a, b, mix=[0.0, 1.0], n=seeds, seed=0)
        ends[(a, b)] = images
    for name, which in (("first prompt", 0), ("second prompt", 1)):
        images = np.concatenate([ends[p][which * seeds:(which + 1) * seeds] for p in PAIRS])
        scores[name] = both_parts(judges, images, PAIRS, seeds)
    made = {}
    for method in MASHUP_METHODS:
        times, images = [], []
        for a, b in PAIRS:
            start = time.perf_counter()
            images.append(pipe.mashup(a, b, mix=0.5, n=seeds, seed=0, method=method))
            times.append((time.perf_counter() - start) / seeds)
        made[method] = np.concatenate(images)
        scores[method] = both_parts(judges, made[method], PAIRS, seeds)
        seconds[method] = statistics.median(times)
        print(method, scores[method], f"{seconds[method]:.2f} s/image")
    captions = []
    for k, (a, b) in enumerate(PAIRS):
        rows += [ends[(a, b)][0], ends[(a, b)][seeds]] + [made[m][k * seeds] for m in MASHUP_METHODS]
        captions += [a, b] + list(MASHUP_METHODS)
    save_grid(out_dir / "mashup_methods.png", np.stack(rows), captions, columns=2 + len(MASHUP_METHODS), scale=2,
              title="mix 0.5, seed 0: first prompt, second prompt, then each method")
    mixes = [0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]
    strip = np.concatenate([pipe.mashup(a, b, mix=mixes, n=1, seed=0) for a, b in PAIRS[:6]])
    labels = [a if m == 0 else b if m == 1 else f"mix {m}" for a, b in PAIRS[:6] for m in mixes]
    save_grid(out_dir / "mashup_mix.png", strip, labels, columns=len(mixes), scale=2, caption_lines=2,
              title="the default method (compose) across the mix slider, seed 0")
    return {"scores": scores, "seconds_per_image": seconds, "seeds_per_pair": seeds}


def load_photo(spec):
    kind, name = spec.split(":")
    if kind == "skimage":
        from skimage import data

        photo = np.asarray(getattr(data, name)())
        return np.where(photo, 255, 0).astype(np.uint8) if photo.dtype == bool else photo
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data(name) as f:
        return np.asarray(Image.open(f).convert("RGB"))


def emojify(pipe, out_dir):
    from emoji_t2i.pipelines.editing import prepare_photo

    images, captions, times = [], [], []
    for spec, prompt in PHOTOS:
        photo = load_photo(spec)
        images.append(prepare_photo(photo))
        captions.append(spec.split(":")[1].split(".")[0])
        for strength in STRENGTHS:
            start = time.perf_counter()
            images.append(pipe.emojify(photo, prompt, strength=strength, n=1, seed=0)[0])
            times.append((strength, time.perf_counter() - start))
            captions.append(f"{prompt} @{strength}")
    save_grid(out_dir / "emojify_strengths.png", np.stack(images), captions, columns=1 + len(STRENGTHS), scale=2,
              title="photo (centre crop, soft disc), then emojify at each strength, seed 0")
    return {"seconds_at_strength": {str(s): statistics.median([t for k, t in times if k == s]) for s in STRENGTHS}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "app")
    p.add_argument("--seeds", type=int, default=4, help="mash-ups per pair and method for the scores")
    p.add_argument("--only", choices=("mashups", "emojify"))
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    pipe = TextToImagePipeline.from_preset("diffusion-emoji72")  # the editing tools sample the guided model
    path = args.out_dir / "app_figures.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["cpu_threads"] = os.cpu_count()
    if args.only in (None, "mashups"):
        results["mashups"] = mashups(pipe, Judges.load(), args.out_dir, args.seeds)
    if args.only in (None, "emojify"):
        results["emojify"] = emojify(pipe, args.out_dir)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
