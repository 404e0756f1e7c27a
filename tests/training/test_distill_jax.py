"""``train_jax distill``: guided progressive distillation end to end on a tiny preset, in its own
module so that the test runner can run it beside the JAX trainer's tests (their modules are
the suite's two longest)."""

import json
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from emoji_t2i.training import state as st
from tests.training.test_train_jax import _jax, needs_jax

# a GPU recipe's trainer (benchmarks/gpu_distill.sh), ~100 s in a full run: make test-jax runs it
# before a GPU run; the distillation objective is tests/schedulers/test_distillation.py's, the
# distilled student's sampling tests/models/test_diffusion.py's and the shipped fast preset's
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def distilled(diffusion_run, tmp_path_factory):
    """Every stage in one command (2 x 2 guided steps -> 2 -> 1), killed by its budget after one
    step and resumed, then ``finish``: the commands' results and folders, for the tests to read."""
    from emoji_t2i.train_jax import main as train_jax_main

    root = tmp_path_factory.mktemp("distill")
    bundle, run, preset = root / "bundle", root / "run", root / "preset"
    assert train_jax_main(["bundle", "--init-from", str(diffusion_run / "preset"), "--out", str(bundle),
                           "--limit", "16", "--no-probe"]) == 0  # distillation measures no probe
    first = _jax("distill", "--bundle", bundle, "--out", run, "--stages", "2,1", "--stage-steps", 2,
                 "--batch-size", 4, "--log-seconds", 0, "--minutes", 1e-4, cache=root / "cache")
    assert first.returncode == 0, first.stderr[-3000:]
    stages_after_first = (run / "stages").exists()
    resumed = _jax("distill", "--bundle", bundle, "--out", run, "--resume", cache=root / "cache")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    finished = train_jax_main(["finish", "--run", str(run), "--out", str(preset)])
    return SimpleNamespace(bundle=bundle, run=run, preset=preset, teacher=diffusion_run / "preset", first=first,
                           resumed=resumed, stages_after_first=stages_after_first, finished=finished)


@needs_jax
def test_distillation_runs_its_stages_resumes_and_its_student_samples_in_one_call_per_step(distilled, tmp_path,
                                                                                         capsys):
    """The budget stops the first command after one step, ``--resume`` finishes every stage, and
    the preset ``finish`` makes holds the last student, which samples with one U-Net call per
    step on the undoubled batch."""
    from emoji_t2i.pipelines import TextToImagePipeline
    from emoji_t2i.train_jax import main as train_jax_main

    bundle, run = distilled.bundle, distilled.run
    assert json.loads((bundle / "bundle.json").read_text())["sampling"]["num_steps"] == 2
    assert train_jax_main(["distill", "--bundle", str(bundle), "--out", str(tmp_path / "r"), "--stages", "8,3"]) == 2
    assert "each half the last" in capsys.readouterr().err and not (tmp_path / "r").exists()
    assert json.loads(distilled.first.stdout.splitlines()[-1])["step"] == 1  # out of time after one step
    assert not distilled.stages_after_first
    assert "resuming" in distilled.resumed.stderr
    assert json.loads(distilled.resumed.stdout.splitlines()[-1])["stage"] == 2
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [(r["student_steps"], r["step"]) for r in log] == [(2, 1), (2, 2), (1, 1), (1, 2)]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in log)
    assert sorted(p.name for p in (run / "stages").glob("*-0.npz")) == ["student-1-0.npz", "student-2-0.npz"]

    assert train_jax_main(["finish", "--run", str(run), "--out", str(tmp_path / "bad"), "--stage", "4"]) == 2
    assert "no 4-step student; finished: [1, 2]" in capsys.readouterr().err
    assert distilled.finished == 0
    # a teacher trained with dropout hands its student none: the student trained without it
    teacher = tmp_path / "teacher"
    shutil.copytree(distilled.teacher, teacher)
    preset_config = json.loads((teacher / "config.json").read_text())
    preset_config["config"]["dropout"] = 0.1
    (teacher / "config.json").write_text(json.dumps(preset_config))
    assert train_jax_main(["finish", "--run", str(run), "--out", str(tmp_path / "s"), "--init-from", str(teacher)]) == 0
    assert TextToImagePipeline.from_preset(tmp_path / "s").model.dropout == 0.0
    card = json.loads((distilled.preset / "metadata.json").read_text())
    assert card["distillation"]["stages"] == [2, 1] and card["distillation"]["images_seen"] == 16
    pipe = TextToImagePipeline.from_preset(distilled.preset)
    model = pipe.model
    assert model.guidance_input and model.num_steps == 1 and model.sampler == "ddim"
    student = st.load_arrays(run / "stages", "student-1")
    assert "guidance_dense2/kernel" in student  # stored by name
    np.testing.assert_array_equal(  # the last stage's student, as the distiller left it
        model.ema_denoiser.guidance_dense2.kernel.numpy(), student["guidance_dense2/kernel"])
    assert np.abs(model.ema_denoiser.guidance_dense2.kernel.numpy()).max() > 0  # the guidance input learned

    network, batches = model._denoiser_graph(), []

    def counting(inputs):
        batches.append(int(inputs[0].shape[0]))
        assert len(inputs) == 5  # the guidance scale is an input
        return network(inputs)

    model.__dict__["_denoiser_fn"] = counting
    prompts = ["crying cat", "rocket", "pizza"]
    pipe.sample(prompts, seed=4, guidance_scale=2.5)
    assert batches == [3]  # one step, one call, no null caption
    pipe.sample(prompts, seed=4, num_steps=3)
    assert batches == [3, 3, 3, 3]


@needs_jax  # ~35 s, most of it exporting; test_diffusion_cli.py exports a teacher's SavedModel
def test_a_distilled_student_samples_from_its_savedmodel_as_in_process(distilled, tmp_path):
    import tensorflow as tf

    from emoji_t2i.export import export_pipeline
    from emoji_t2i.pipelines import TextToImagePipeline

    assert distilled.finished == 0
    pipe = TextToImagePipeline.from_preset(distilled.preset)
    prompts = ["crying cat", "rocket", "pizza"]
    served = tf.saved_model.load(str(export_pipeline(pipe, tmp_path / "export", editing=False)))
    from_savedmodel = served.serve(tf.constant(prompts), 4).numpy()
    assert np.abs(from_savedmodel.astype(int) - pipe.sample(prompts, seed=4)).max() <= 1


@needs_jax
@pytest.mark.slow  # ~2.5 min: make test-jax
def test_a_fitted_distillation_gives_each_stage_its_share_and_ends_each_decay(distilled, tmp_path):
    """--fit-schedule, --stage-steps only a cap: each stage gets an equal share of the minutes left
    when it begins, plans its length from its measured speed (the compiling stretch left out),
    and decays its rate towards the floor as its share runs out; both stages finish within
    the minutes, and the state written without the rate resumes."""
    import time

    run, minutes = tmp_path / "run", 2.0  # a stage compiles for up to ~25 s on a loaded CPU
    start = time.perf_counter()
    fitted = _jax("distill", "--bundle", distilled.bundle, "--out", run, "--stages", "2,1", "--fit-schedule",
                  "--minutes", minutes, "--stage-steps", 100_000, "--batch-size", 4, "--log-seconds", 0,
                  "--warmup-steps", 2, "--lr", 1e-3, cache=tmp_path / "xla")
    wall = time.perf_counter() - start
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    assert re.search(r"stage 1/2: 4 -> 2 steps, fitted to (0\.9|1\.0) min", fitted.stderr)  # half of 2
    assert sorted(p.name for p in (run / "stages").glob("*-0.npz")) == ["student-1-0.npz", "student-2-0.npz"]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    for stage in (1, 2):
        records = [r for r in log if r["stage"] == stage]
        assert "planned_steps" not in records[0]  # the compiling stretch is not timed; nor is the cap a plan
        plans = [r["planned_steps"] for r in records if "planned_steps" in r]
        assert plans and plans[-1] > 10, (stage, plans)  # at least 10 timed steps before a plan
        assert records[-1]["step"] >= 0.9 * plans[-1], (stage, records[-1], plans)
        assert records[-1]["lr"] < 0.3e-3, records[-1]  # decayed towards its floor (1e-4), not cut at the peak
        assert max(r["lr"] for r in records) > 0.7e-3
    assert wall < minutes * 60 + 60  # the minutes, plus starting the process and the checkpoints
    saved = st.load_arrays(run / "state", "optimizer")
    assert saved and not any(k.endswith("learning_rate") for k in saved)
    refused = _jax("distill", "--bundle", distilled.bundle, "--out", run, "--resume", cache=tmp_path / "xla")
    assert refused.returncode == 2 and "give --minutes" in refused.stderr



@needs_jax
def test_extend_last_runs_the_finished_last_stage_again_from_its_student(distilled, tmp_path, capsys):
    """--extend-last: the last stage again from its student and optimizer, with a fresh warmup
    and decay, its student replaced; the teacher stays the stage before's; finish counts it;
    without --resume, or on a run not finished, one line."""
    from emoji_t2i.train_jax import main as train_jax_main

    run = tmp_path / "run"
    shutil.copytree(distilled.run, run)
    before = st.load_arrays(run / "stages", "student-1")
    assert train_jax_main(["distill", "--bundle", str(distilled.bundle), "--out", str(tmp_path / "new"),
                           "--stages", "2,1", "--stage-steps", "2", "--extend-last", "3"]) == 2
    assert "--extend-last continues a finished run: give --resume" in capsys.readouterr().err
    extended = _jax("distill", "--bundle", distilled.bundle, "--out", run, "--resume", "--extend-last", 3,
                    "--lr", 2e-3, "--log-seconds", 0, cache=tmp_path / "xla")  # its own peak rate
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert "extending stage 2 (1 steps) by 3 steps" in extended.stderr
    assert json.loads(extended.stdout.splitlines()[-1])["stage"] == 2  # finished again, nothing left pending
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    added = [r for r in log if "extending" in r]
    assert [(r["student_steps"], r["step"]) for r in added] == [(1, 1), (1, 2), (1, 3)]
    assert added[0]["lr"] < added[1]["lr"]  # warmed up again, not at the end of the old decay
    assert added[1]["lr"] == pytest.approx(2e-3 * 3 / 100)  # step 2 of the default 100-step warmup to --lr
    after = st.load_arrays(run / "stages", "student-1")
    assert any(not np.array_equal(after[k], before[k]) for k in before)  # the student moved on
    config = json.loads((run / "config.json").read_text())
    assert config["extension"] == {"steps": 3, "lr": 2e-3, "warmup_steps": None}
    assert "--extend-last 3" in config["commands"][-1] and config["lr"] == 1e-4  # the run's own rate kept
    assert train_jax_main(["finish", "--run", str(run), "--out", str(tmp_path / "preset")]) == 0
    card = json.loads((tmp_path / "preset" / "metadata.json").read_text())["distillation"]
    assert card["optimiser_steps"] == {"2": 2, "1": 5} and card["images_seen"] == 7 * 4
    assert card["extensions"] == [{"student_steps": 1, "steps": 3, "lr": 2e-3}] and card["lr"] == 1e-4
    resumed = _jax("distill", "--bundle", distilled.bundle, "--out", run, "--resume", cache=tmp_path / "xla")
    assert resumed.returncode == 0 and "extending" not in resumed.stderr  # a plain resume does not extend again
