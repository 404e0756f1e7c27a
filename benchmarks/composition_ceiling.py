"""What the composition score can reach: the composition prompts answered by pasted composites
of the asked pairs (``data/composites.py``), and by each prompt's subject alone (a lookup
table), scored as ``evaluate`` scores a model: through the composition caption side, and
through the matcher's own caption side for comparison.

    python benchmarks/composition_ceiling.py [--draws 4]

Only pairs whose subject and attribute emoji both exist in Google's or Twitter's drawings can be
pasted (the styles the prompts are drawn in, alternately); the others get the subject alone
(or nothing, where the dataset has no such subject). Each draw alternates the styles the other
way round and redraws the random placement (``evaluation.composition.pasted_answers``).
"""

from __future__ import annotations

import argparse

from emoji_t2i.console import quiet_tensorflow


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=4)
    args = p.parse_args(argv)
    quiet_tensorflow()
    from emoji_t2i.data import load_dataset
    from emoji_t2i.evaluation import metrics
    from emoji_t2i.evaluation.composition import composition_set, pasted_answers
    from emoji_t2i.evaluation.judges import Judges

    train = load_dataset("embedded").subset("train")
    judges, cs = Judges.load(), composition_set()
    print("| draw | caption side | answers | R-precision, 120 prompts | on the pasteable ones | subject recognised | "
          "attribute recognised (pasteable) |\n|---|---|---|---:|---:|---:|---:|")
    for draw in range(args.draws):
        pasted, alone, pasteable = pasted_answers(train, draw)
        for side, composition in (("composition", True), ("matcher", False)):
            text = judges.text_embeddings(cs.caption_pool, composition=composition)
            for name, images in (("composites", pasted), ("subject alone", alone)):
                embedded = judges.image_embeddings(judges.image_outputs(images)[0])

                def hits(candidates, embedded=embedded, text=text, draw=draw):
                    return metrics.r_precision_hits(embedded, text, candidates, draw)

                both = hits(cs.candidates)
                print(f"| {draw} | {side} | {name} | {both.mean():.3f} | {both[pasteable].mean():.3f} "
                      f"({pasteable.sum()}) | {hits(cs.candidates[:, cs.same_subject:]).mean():.3f} | "
                      f"{hits(cs.candidates[:, :cs.same_subject])[pasteable].mean():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
