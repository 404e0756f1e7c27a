"""A small world where composing can be seen on a CPU: the 24 subjects of the composition
prompts and the 13 emoji that composites paste, in every style, with or without composites of
those subjects (never a pair the prompts ask for). Writes a packed bundle warm-started from a
style-conditioned preset; train it with ``train_jax train --probe-every N``, whose probe asks
the 120 composition prompts, and compare the two runs with ``benchmarks/probe_curve.py``.

    python benchmarks/composition_small_world.py --out runs/world-composites --composites 1600
    python benchmarks/composition_small_world.py --out runs/world-plain

Without composites the run sees the same subjects and stickers, each alone: what fine-tuning
on them does by itself.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from emoji_t2i.console import quiet_tensorflow


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--composites", type=int, default=0)
    p.add_argument("--init-from", default="diffusion-emoji72-styles")
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.composites import ATTRIBUTES, composite_examples, concatenate, subject_name
    from emoji_t2i.evaluation.composition import all_subjects, composition_pairs
    from emoji_t2i.pipelines import load_preset
    from emoji_t2i.training.jax_bundle import write_model_bundle

    model, tokenizer, _ = load_preset(args.init_from)
    if not (model.cross_attention and model.styles):
        raise SystemExit(f"error: --init-from {args.init_from}: needs a cross-attention, style-conditioned preset")
    dataset = load_dataset("embedded")
    train = dataset.subset("train")
    subjects, stickers = {s for s, _ in all_subjects()}, {a.sticker for a in ATTRIBUTES}
    world = train.take([i for i, c in enumerate(train.captions) if subject_name(c) in subjects or c[0] in stickers])
    print(f"{len(world)} drawings of {len({subject_name(c) for c in world.captions} & subjects)} subjects "
          f"and {len({c[0] for c in world.captions} & stickers)} stickers")
    if args.composites:
        world = concatenate(world, composite_examples(world, args.composites, exclude=composition_pairs()))
    meta = write_model_bundle(model, tokenizer, dataset, world, args.out, packed=True, styles=list(model.styles),
                              cross_attention=True,
                              meta={"command": "python benchmarks/composition_small_world.py "
                                    + shlex.join(argv or sys.argv[1:]), "data": "embedded",
                                    "composites": args.composites, "init_from": {"preset": args.init_from}})
    print(f"bundle {args.out}: {meta['images']} images, {meta['captions']} distinct captions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
