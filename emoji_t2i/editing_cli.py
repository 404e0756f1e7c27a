"""What the editing CLIs (``mashup``, ``emojify``) share: a diffusion model's source and
sampling options spelled as ``generate`` spells them, and the checks that need no model."""

from __future__ import annotations

from pathlib import Path

from emoji_t2i.console import check_image_output


def add_diffusion_arguments(parser) -> None:
    """--run/--preset and the diffusion sampling options, as generate spells them."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", type=Path, help="a diffusion run directory written by train")
    source.add_argument("--preset", help="a preset's name or folder (default: diffusion-emoji72, the guided one)")
    parser.add_argument("-n", type=int, default=4, help="images per row (default 4)")
    parser.add_argument("--seed", type=int, help="noise seed: same seed, same images (default: random, printed)")
    parser.add_argument("--num-steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--guidance-scale", type=float, help="classifier-free guidance (default: the model's)")
    parser.add_argument("--sampler", choices=("dpm_solver", "dpm_solver_3m", "ddim", "ddpm"),
                        help="sampler (default dpm_solver)")
    parser.add_argument("--style", help="a model with styles (--preset diffusion-emoji72-styles): draw in this "
                                        "style (google, twitter, openmoji, fluent_flat, ...; default any)")
    parser.add_argument("--negative-prompt", metavar="TEXT", help="guide every image away from this, e.g. "
                                                                   "'glasses' (classifier-free guidance)")
    parser.add_argument("-o", "--output", type=Path, help="captioned grid PNG")


def diffusion_options(args) -> dict:
    return {k: v for k, v in (("num_steps", args.num_steps), ("guidance_scale", args.guidance_scale),
                              ("sampler", args.sampler), ("style", args.style),
                              ("negative_prompt", args.negative_prompt)) if v is not None}


def open_diffusion_pipeline(args, output: Path, rows: int, prompts: list[str]):
    """Checks that need no model (seed, options, -n, a grid of ``rows`` x -n, the output, no
    empty prompt), then the pipeline; the seed."""
    import random

    from emoji_t2i.errors import UsageError
    from emoji_t2i.pipelines import GUIDED_PRESET, TextToImagePipeline
    from emoji_t2i.pipelines.checks import check_count, check_sampling_options, check_seed, prompt_list
    from emoji_t2i.plotting import MAX_GRID, check_grid_size

    if not all(prompt.strip() for prompt in prompts):  # the pipeline says so too, but after loading the model
        raise UsageError("an empty prompt: give words, e.g. 'crying cat'")
    prompt_list([*prompts, args.negative_prompt or ""])  # text that is not UTF-8 is refused here, not after loading
    check_count(args.n, "-n")
    check_grid_size(rows * args.n, f"-n {args.n} x {rows} rows", f"use -n {max(1, MAX_GRID // rows)} or fewer")
    if args.seed is not None:
        check_seed(args.seed)
    check_sampling_options(diffusion_options(args))
    check_image_output(output, "-o")
    pipe = (TextToImagePipeline.from_run(args.run) if args.run
            else TextToImagePipeline.from_preset(args.preset or GUIDED_PRESET))
    pipe.check_negative_prompt(pipe.check_style(diffusion_options(args)))  # before sampling: names a model that can
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31 - 1)
    if args.seed is None:
        print(f"seed {seed} (pass --seed {seed} to get these images again)")
    return pipe, seed
