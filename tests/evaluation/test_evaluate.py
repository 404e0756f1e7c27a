"""The judges' training script, the report and the CLI, on real emoji."""

import json

import numpy as np
import pytest

from emoji_t2i.errors import UsageError
from emoji_t2i.evaluate import main
from emoji_t2i.evaluation import sources
from emoji_t2i.evaluation.judges import JUDGES_DIR, Judges
from emoji_t2i.evaluation.report import ROWS, evaluate

SPLIT_KEYS = {"samples", "fid", "kid", "kid_std", "inception_score", "inception_score_std",
              "r_precision", "text_image_similarity", "feature_nn_median", "pixel_nn_median",
              "near_copy_fraction", "diversity", "diversity_relative"}


def test_trained_judges_reload_with_identical_outputs(small_dataset, small_judges):
    out, measured = small_judges
    assert {"heldout_subcategory_accuracy", "train_identity_accuracy", "train_real_r_precision",
            "heldout_real_r_precision"} <= set(measured)
    judges = Judges.load(out)
    info = json.loads((out / "judges.json").read_text())
    assert info["measured"] == measured and len(info["subcategories"]) == info["classifier"]["num_subcategories"]
    images = small_dataset.images[:8]
    features, posteriors = judges.image_outputs(images)
    assert features.shape == (8, judges.classifier.feature_dim)
    np.testing.assert_allclose(posteriors.sum(1), 1.0, atol=1e-5)
    assert judges.text_embeddings(["crying cat", "zzqx"]).shape == (2, judges.matcher.embed_dim)


def test_report_has_every_metric_for_both_splits(tmp_path, small_dataset, small_judges):
    report = evaluate(sources.RealSource(small_dataset), small_dataset, Judges.load(small_judges[0]),
                      samples=12, seed=0, out=tmp_path)
    for split in ("train", "heldout"):
        values = report["splits"][split]
        assert set(values) == SPLIT_KEYS and all(np.isfinite(v) for v in values.values()), values
        categories = report["categories"][split]
        assert sum(c["prompts"] for c in categories.values()) == values["samples"]
        # the categories' R-precisions, weighted by their prompts, are the split's
        assert np.isclose(sum(c["r_precision"] * c["prompts"] for c in categories.values()) / values["samples"],
                          values["r_precision"])
    assert report["composition"] is None  # real images answer no free prompt
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["splits"] == json.loads(json.dumps(report["splits"])) and saved["wall_seconds"] > 0
    md = (tmp_path / "report.md").read_text()
    assert all(title in md for title, _, _ in ROWS) and "R-precision per category" in md
    assert all((tmp_path / f"{s}_{g}.png").exists() for s in ("train", "heldout")
               for g in ("samples", "nearest_training", "diversity"))


@pytest.mark.skipif(not (JUDGES_DIR / "judges.json").exists(), reason="judges not trained yet")
def test_shipped_judges_rank_real_emoji_far_above_noise(tmp_path, embedded):
    judges = Judges.load()
    # Google's and Twitter's drawings (the FID reference's styles): a third of the training side to embed
    ds = embedded.take(np.flatnonzero(np.isin(embedded.metadata["style"], ["google", "twitter"])))
    cache = {}  # the training side is measured once for both sources
    real = evaluate(sources.RealSource(ds), ds, judges, 200, 0, tmp_path / "real", cache=cache)["splits"]
    noise = evaluate(sources.NoiseSource(), ds, judges, 200, 0, tmp_path / "noise", cache=cache)["splits"]
    for split in ("train", "heldout"):
        assert real[split]["r_precision"] > 0.3 > 0.05 > noise[split]["r_precision"]
        assert real[split]["fid"] < noise[split]["fid"] / 5
        assert real[split]["kid"] < noise[split]["kid"] / 5
    # the other vendor's drawing of a TRAINING emoji is itself a training image
    assert real["train"]["near_copy_fraction"] == 1.0
    composition = json.loads((tmp_path / "noise" / "report.json").read_text())["composition"]
    assert composition["prompts"] >= 100 and composition["r_precision"] < 4 * composition["chance"]
    assert "Composition prompts" in (tmp_path / "noise" / "report.md").read_text()
    assert real["heldout"]["near_copy_fraction"] < 0.2


@pytest.mark.slow  # evaluate() is covered by the shipped-judges test, the CLI's errors by the tests below
def test_cli_evaluates_a_trained_run(tmp_path, eval_run, small_judges, capsys):
    out = tmp_path / "eval"
    assert main(["--run", str(eval_run), "--judges", str(small_judges[0]), "--samples", "6",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["source"].endswith("(cgan)") and report["splits"]["heldout"]["samples"] == 6
    captured = capsys.readouterr()
    assert "wrote" in captured.out
    # 6 samples are a smoke test, and the CLI says so rather than printing figures without a word
    assert "--samples 6: FID, KID, IS and R-precision mean little below 100" in captured.err


@pytest.mark.parametrize("argv, message", [
    (["--run", "no/such/run"], "no/such/run"),
    (["--noise", "--judges", "no/judges"], "train_judges"),
    (["--preset", "diffusion-emoji72", "--set", "guidance_interval=5.42,0.28"], "guidance_interval"),
    # a misspelt key was a TypeError traceback once sampling began; noise took options it ignored
    (["--preset", "diffusion-emoji72", "--set", "num_step=8"], "sampling option 'num_step': a diffusion model"),
    (["--noise", "--set", "num_steps=8"], "--set num_steps=8: --noise samples no model"),
    # numpy's traceback for a negative seed; a large one failed in the pipeline, late
    (["--noise", "--seed", "-1"], "--seed -1: use a whole number from 0 to 268434"),
    (["--preset", "diffusion-emoji72", "--seed", "300000"], "--seed 300000"),
])
def test_cli_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_cli_refuses_too_few_samples(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--noise", "--samples", "1", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "--samples 1" in capsys.readouterr().err


def test_set_parses_numbers_and_comma_joined_numbers_as_the_pipeline_takes_them():
    from emoji_t2i.evaluate import parse_options
    from emoji_t2i.pipelines.checks import check_sampling_options

    options = parse_options(["num_steps=10", "guidance_scale=1.5", "guidance_interval=0.28,5.42",
                             "condition_annealing=0.5,1.5,0.5", "sampler=dpm_solver_3m", "style=a,b"])
    assert options == {"num_steps": 10, "guidance_scale": 1.5, "guidance_interval": (0.28, 5.42),
                       "condition_annealing": (0.5, 1.5, 0.5), "sampler": "dpm_solver_3m", "style": "a,b"}
    check_sampling_options(options)
    with pytest.raises(UsageError, match="guidance_interval"):
        check_sampling_options(parse_options(["guidance_interval=5.42,0.28"]))


@pytest.mark.parametrize("argv, folder", [
    (["--run", "runs/my-cgan"], "runs/my-cgan/eval"),
    (["--run", "runs/my-cgan", "--composition-only"], "runs/my-cgan/eval-composition"),
    (["--preset", "diffusion-emoji72"], "runs/eval-diffusion-emoji72"),
    (["--preset", "runs/my-run/preset/"], "runs/eval-my-run"),
    (["--real"], "runs/eval-real"),
])
def test_report_folder_without_out_is_named_for_what_it_reads(argv, folder):
    # a composition-only report in the full report's folder would replace it
    from emoji_t2i.evaluate import build_parser, default_out

    assert default_out(build_parser().parse_args(argv)).as_posix() == folder
