"""``python -m emoji_t2i.generate "prompt" ...``: emoji from the shipped model, a preset or a run.

    python -m emoji_t2i.generate "crying cat" "a cat wearing sunglasses" -n 4 --seed 0 -o grid.png
    python -m emoji_t2i.generate --run runs/default-cgan "pizza" --out-dir pizzas/
    python -m emoji_t2i.generate --preset runs/my-run/preset "rocket" --num-steps 30 --guidance-scale 4
    python -m emoji_t2i.generate "🐙 wearing a 🎩"    # emoji are read as their names
    python -m emoji_t2i.generate "woman" --negative-prompt "blond hair"   # guided away from blond hair
    python -m emoji_t2i.generate --from-file prompts.txt -n 1 --out-dir out/   # a prompt per line
    python -m emoji_t2i.generate --from-png out/crying_cat-seed7-0.png --seed 8   # its settings, another seed

With neither --run nor --preset it draws with diffusion-emoji72-fast (4 network calls an emoji);
--negative-prompt, --num-steps, --sampler or --guidance-interval switch to diffusion-emoji72,
the guided model it was distilled from, and --style to diffusion-emoji72-styles (a line says
which). The same seed gives the same images; without --seed one is drawn and printed. Every
PNG it writes records the model, prompts, seed and settings (``emoji_t2i.png_parameters``);
--from-png reads them back, and any option given beside it wins.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "prompt"


def file_stems(prompts: list[str]) -> list[str]:
    """One file name stem per prompt, distinct even where prompts slug alike ("Crying cat",
    "crying cat!"), so that no prompt's images overwrite another's."""
    stems, taken = [], set()
    for prompt in prompts:
        stem, k = slug(prompt), 1
        while stem in taken:
            k += 1
            stem = f"{slug(prompt)}_{k}"
        taken.add(stem)
        stems.append(stem)
    return stems


def read_prompt_file(path: Path) -> list[str]:
    """The prompts of a file, one per line, blank lines and lines starting with # left out."""
    from emoji_t2i.errors import UsageError

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not UTF-8 text"
        raise UsageError(f"--from-file {path}: cannot read it ({reason}); "
                         "give a text file, a prompt per line") from None
    prompts = [line.strip() for line in text.splitlines()]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise UsageError(f"--from-file {path}: no prompt in it; write one per line")
    return prompts


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--run", type=Path, help="a run directory written by train")
    source.add_argument("--preset", help="a shipped preset's name or a preset folder "
                                         "(default: diffusion-emoji72-fast; see above)")
    p.add_argument("prompts", nargs="*", help="one or more prompts")
    p.add_argument("--from-file", type=Path, metavar="FILE",
                   help="more prompts, one per line ('-': standard input; blank lines and # comments skipped)")
    p.add_argument("--from-png", type=Path, metavar="PNG",
                   help="the model, prompts, seed and settings a PNG from generate or the app records "
                        "(options given beside it win; prompts given replace its prompts)")
    p.add_argument("-n", type=int, default=4, help="images per prompt (default 4)")
    p.add_argument("--seed", type=int, help="noise seed: same seed, same images (default: random, printed)")
    p.add_argument("--num-steps", type=int, help="diffusion, vq_transformer: sampling steps (default: the model's)")
    p.add_argument("--guidance-scale", type=float, help="diffusion, vq_transformer: classifier-free guidance "
                                                         "(default 3)")
    p.add_argument("--sampler", choices=("dpm_solver", "dpm_solver_3m", "ddim", "ddpm"), help="diffusion: sampler")
    p.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="diffusion: guide only at noise levels sigma/alpha in (LOW, HIGH] (default: the "
                        "model's; the shipped one 0.28 5.42; 0 1e9 guides every step)")
    p.add_argument("--condition-annealing", metavar="LOW,HIGH,SCALE",
                   help="diffusion: read the prompt noised early in sampling and clean late (CADS): clean "
                        "below time LOW, blended up to HIGH, noise SCALE relative to the prompt's size; "
                        "off turns a model's default off (default: the model's)")
    p.add_argument("--style", help="diffusion with styles (--preset diffusion-emoji72-styles): draw in this "
                                   "style (google, twitter, openmoji, fluent_flat, ...; default any)")
    p.add_argument("--negative-prompt", metavar="TEXT",
                   help="diffusion, vq_transformer: guide every image away from this, e.g. 'glasses' "
                        "(classifier-free guidance)")
    p.add_argument("--temperature", type=float, help="vq_transformer: token sampling temperature (default 1)")
    p.add_argument("--top-k", type=int, help="vq_transformer: sample among the k likeliest tokens (0: all)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", type=Path, help="captioned grid PNG (default samples.png)")
    out.add_argument("--out-dir", type=Path, help="one RGBA PNG per image, named by prompt and seed")
    return p


# what --from-png never takes from a record: where this call writes and reads
NOT_RECORDED = {"from_png", "from_file", "output", "out_dir", "help"}


def recorded_namespace(parser: argparse.ArgumentParser, given: argparse.Namespace, made: dict):
    """A namespace of the record's values for the options not given on this command line (so
    that parsing the command line into it keeps those and overrides the rest)."""
    from emoji_t2i.errors import UsageError

    values = {}
    for action in parser._actions:
        dest = action.dest
        if dest in NOT_RECORDED or not action.option_strings or dest not in made:
            continue
        if dest in ("run", "preset") and (given.run is not None or given.preset is not None):
            continue  # a source given here replaces the recorded one
        convert = action.type or str
        try:
            value = made[dest]
            values[dest] = [convert(v) for v in value] if action.nargs else convert(value)
        except (TypeError, ValueError):
            raise UsageError(f"--from-png {given.from_png}: its {dest} ({made[dest]!r:.40}) is not a value "
                             f"for --{dest.replace('_', '-')}; give that option yourself") from None
    return argparse.Namespace(**values)


def parse(parser: argparse.ArgumentParser, argv) -> argparse.Namespace:
    """The command line, on top of the record of ``--from-png`` when it names one."""
    from emoji_t2i.png_parameters import read_parameters

    args = parser.parse_args(argv)
    if args.from_png is None:
        return args
    made = read_parameters(args.from_png)
    merged = parser.parse_args(argv, namespace=recorded_namespace(parser, args, made))
    if not args.prompts and args.from_file is None:  # the record's prompts, and its prompt file by name
        merged.prompts = [str(p) for p in made.get("prompts", [])]
        merged.from_file = Path(made["from_file"]) if made.get("from_file") else None
        if merged.from_file is not None and not merged.from_file.is_file():
            from emoji_t2i.errors import UsageError

            raise UsageError(f"--from-png {args.from_png}: its prompts came from {merged.from_file}, which is not "
                             "there; run it where that file is, or give the prompts")
    which = f"image {made['image']} of " if "image" in made else ""
    print(f"{args.from_png} is {which}{made.get('command', 'a generate call')}")
    return merged


def main(argv=None) -> int:
    from emoji_t2i.errors import EmojiT2IError, UsageError

    parser = build_parser()
    try:
        args = parse(parser, argv)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not args.prompts and args.from_file is None:
        parser.error("give one or more prompts, --from-file FILE or --from-png PNG")
    if args.n < 1:
        print("error: -n must be at least 1", file=sys.stderr)
        return 2
    from emoji_t2i.console import check_image_output, check_writable, quiet_tensorflow

    quiet_tensorflow()
    from tqdm.auto import tqdm

    from emoji_t2i.pipelines import TextToImagePipeline, preset_for
    from emoji_t2i.pipelines.checks import check_sampling_options, check_seed, prompt_list
    from emoji_t2i.plotting import check_grid_size, save_grid
    from emoji_t2i.png_parameters import OPTIONS, png_info, record, save_png

    # the sampling options, one list with what a PNG records (png_parameters.OPTIONS)
    options = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    if "guidance_interval" in options:
        options["guidance_interval"] = tuple(options["guidance_interval"])
    asked = dict(options)  # as given, for the record each PNG carries
    given = list(args.prompts)  # the command line's prompts, recorded apart from the file's
    # a prompt file is recorded by name, standard input by its prompts (it cannot be read again)
    prompt_file = args.from_file if args.from_file is not None and str(args.from_file) != "-" else None
    try:  # every check that needs no model comes before loading one
        blank = [i for i, prompt in enumerate(args.prompts, 1) if not prompt.strip()]
        if blank:  # e.g. make generate PROMPT= ; the model would draw whatever no words draw
            raise UsageError(f"prompt {blank[0]} is empty: give words, e.g. 'crying cat'")
        if args.from_file is not None:
            args.prompts = [*args.prompts, *read_prompt_file(args.from_file)]
        if args.seed is not None:
            check_seed(args.seed)
        prompts = prompt_list(args.prompts)  # as the model reads them: emoji by name, for captions and files
        prompt_list([args.negative_prompt or ""])  # not UTF-8: refused before the model loads
        check_sampling_options(options)
        count = len(prompts) * args.n
        if args.out_dir:
            check_writable(args.out_dir, "--out-dir", folder=True)
        else:
            check_grid_size(count, f"-n {args.n}", "write them one file each with --out-dir DIR")
            check_image_output(args.output or Path("samples.png"), "-o")
        preset, why = (args.preset, None) if args.preset or args.run else preset_for(options)
        if why:
            print(why)
        pipe = TextToImagePipeline.from_run(args.run) if args.run else TextToImagePipeline.from_preset(preset)
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        options = pipe.check_style(options)  # its error names a model that has styles
        if "negative_prompt" in options:
            options = pipe.check_negative_prompt(options)  # its error names a model that can take one
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    unknown = sorted(set(options) - set(pipe.options))
    if unknown:
        takes = ", ".join("--" + k.replace("_", "-") for k in pipe.options) or "no sampling options"
        print(f"error: a {pipe.config['model']} model takes no --{unknown[0].replace('_', '-')} "
              f"(it takes {takes})", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
    if args.seed is None:
        print(f"seed {seed} (pass --seed {seed} to get these images again)")
    source = {"run": args.run} if args.run else {"preset": preset}
    recorded = (source, given if prompt_file else args.prompts, args.n, seed, asked)
    unit = "step" if "num_steps" in pipe.options else "chunk"
    # delay: the bar appears at the first step, after the prompts' warnings, not on their line
    bar = tqdm(total=pipe.sampling_calls(count, options.get("num_steps")), desc="sampling", unit=unit, delay=0.1)
    step = bar.update if "num_steps" in pipe.options else None
    grid = []
    try:
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
        stems = file_stems(prompts)
        for start, images in pipe.iter_samples(prompts, seed=seed, n=args.n, progress=step, **options):
            if step is None:
                bar.update(1)
            if not args.out_dir:
                grid.append(images)
                continue
            for i, image in enumerate(images, start):  # one chunk in memory, whatever -n
                name = f"{stems[i // args.n]}-seed{seed}-{i % args.n}.png"
                save_png(args.out_dir / name, image,
                         record(*recorded, from_file=prompt_file, image=i, prompt=args.prompts[i // args.n]))
    except EmojiT2IError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    if args.out_dir:
        print(f"wrote {count} PNGs to {args.out_dir}")
    else:
        import numpy as np

        path = args.output or Path("samples.png")
        captions = [p if j == 0 else "" for p in prompts for j in range(args.n)]
        save_grid(path, np.concatenate(grid), captions, columns=args.n, caption_lines=2,
                  pnginfo=png_info(record(*recorded, from_file=prompt_file)))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
