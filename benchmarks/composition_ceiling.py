"""What the composition score can reach: the composition prompts answered by pasted composites
of the asked pairs (``data/composites.py``), and by each prompt's subject alone (a lookup
table), scored by the evaluation matcher as ``evaluate`` scores a model.

    python benchmarks/composition_ceiling.py [--draws 4]

Only pairs whose subject and attribute emoji both exist in Google's or Twitter's drawings can be
pasted (the styles the prompts are drawn in, alternately); the others get the subject alone
(or nothing, where the dataset has no such subject). Each draw alternates the styles the other
way round and redraws the random placement.
"""

from __future__ import annotations

import argparse

import numpy as np

from emoji_t2i.console import quiet_tensorflow


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=4)
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.data.composites import ATTRIBUTES, compose, subject_name
    from emoji_t2i.evaluation import metrics
    from emoji_t2i.evaluation.composition import composition_set
    from emoji_t2i.evaluation.judges import Judges

    train = load_dataset("embedded").subset("train")
    judges, cs = Judges.load(), composition_set()
    text = judges.text_embeddings(cs.caption_pool)
    drawing = {}
    for i, captions in enumerate(train.captions):
        for name in (subject_name(captions), captions[0]):
            drawing.setdefault((name, str(train.metadata["style"][i])), train.images[i])
    sticker = {a.template: a for a in ATTRIBUTES}
    blank = np.zeros((72, 72, 4), np.uint8)
    print("| draw | answers | R-precision, 120 prompts | on the pasteable ones | subject recognised | "
          "attribute recognised (pasteable) |\n|---|---|---:|---:|---:|---:|")
    for draw in range(args.draws):
        rng = np.random.default_rng(draw)
        pasted, alone, pasteable = [], [], []
        for k, prompt in enumerate(cs.prompts):
            style = ("google", "twitter")[(k + draw) % 2]
            subject, attribute = drawing.get((prompt.subject, style), blank), sticker.get(prompt.attribute)
            ok = attribute is not None and subject.any() and (attribute.sticker, style) in drawing
            pasteable.append(ok)
            alone.append(subject)
            pasted.append(compose(subject, drawing[(attribute.sticker, style)], attribute.placement, rng)
                          if ok else subject)
        pasteable = np.array(pasteable)
        for name, images in (("composites", pasted), ("subject alone", alone)):
            embedded = judges.image_embeddings(judges.image_outputs(np.stack(images))[0])

            def hits(candidates, embedded=embedded, draw=draw):
                return metrics.r_precision_hits(embedded, text, candidates, draw)

            both = hits(cs.candidates)
            print(f"| {draw} | {name} | {both.mean():.3f} | {both[pasteable].mean():.3f} ({pasteable.sum()}) | "
                  f"{hits(cs.candidates[:, cs.same_subject:]).mean():.3f} | "
                  f"{hits(cs.candidates[:, :cs.same_subject])[pasteable].mean():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
