"""Zero-shot retrieval of a text-image encoder run (an emoji CLIP, a DAMSM: its sentence and
global image codes) on the held-out emoji identities it never saw.

    python benchmarks/retrieval.py --run runs/clip --figure docs/clip/retrieval.png
    python benchmarks/retrieval.py --run runs/damsm --figure docs/attngan/damsm_retrieval.png

Image -> caption: each held-out image ranks every distinct held-out caption; a hit at k when
one of the top k belongs to the image's identity (any style, any skin tone). Caption ->
image: each caption ranks every held-out image, a hit when the top k hold its identity.
Chance is printed beside each figure. The figure shows held-out images captioned with their
top-ranked caption.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def hits_at(scores, query_ids, target_ids, k):
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([(target_ids[row] == q).any() for row, q in zip(top, query_ids, strict=True)]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a clip or damsm run directory")
    p.add_argument("--figure", help="PNG: held-out images with their top caption")
    args = p.parse_args()
    import keras

    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.images import to_unit_range
    from emoji_t2i.pipelines import load_run_model
    from emoji_t2i.plotting import save_grid

    keras.config.set_dtype_policy("float32")
    model, tokenizer, config = load_run_model(args.run)
    if model.preview != "retrieval":
        sys.exit(f"error: {args.run} is a {config['model']!r} run; give a clip or damsm run")
    held = load_dataset("embedded").subset("heldout")
    identity = np.asarray(held.identity)
    captions, caption_ids = [], []
    for i, caps in enumerate(held.captions):
        for c in caps:
            if c not in captions:
                captions.append(c)
                caption_ids.append(identity[i])
    caption_ids = np.asarray(caption_ids)
    images = to_unit_range(held.images.astype(np.float32))
    image_emb = np.concatenate([np.asarray(model.embed_images(images[s:s + 128]))
                                for s in range(0, len(images), 128)])
    text_emb = np.concatenate([np.asarray(model.embed_text(tokenizer(captions[s:s + 256])))
                               for s in range(0, len(captions), 256)])
    scores = image_emb @ text_emb.T
    print(f"held-out: {len(images)} images of {len(set(identity))} identities, {len(captions)} distinct captions")
    print("| direction | top-1 | top-5 | chance top-1 | chance top-5 |")
    print("|---|---:|---:|---:|---:|")
    for name, s, q, t in (("image -> caption", scores, identity, caption_ids),
                          ("caption -> image", scores.T, caption_ids, identity)):
        share = np.array([(t == k).mean() for k in q])
        chance1 = float(share.mean())
        chance5 = float(np.mean(1 - (1 - share) ** 5))
        print(f"| {name} | {hits_at(s, q, t, 1):.3f} | {hits_at(s, q, t, 5):.3f} | {chance1:.3f} | {chance5:.3f} |")
    if args.figure:
        rng = np.random.default_rng(0)
        show = rng.choice(len(images), 24, replace=False)
        best = scores[show].argmax(axis=1)
        labels = [f"{'+' if caption_ids[b] == identity[i] else '-'} {captions[b]}" for i, b in zip(show, best,
                                                                                                   strict=True)]
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        save_grid(args.figure, held.images[show], labels, columns=8, caption_lines=2)
        print(f"wrote {args.figure} (+: the top caption names the image's emoji)")


if __name__ == "__main__":
    main()
