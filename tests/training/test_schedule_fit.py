"""``ScheduleFit``: a run's length fitted to its minutes as it goes, so the cosine decay ends
when the budget does (``train_jax train --fit-schedule``)."""

import math

import pytest

from emoji_t2i.training.schedule_fit import ScheduleFit, probe_due


def simulate(budget, compile_seconds, step_seconds, probe_every, probe_seconds, first_probe_seconds,
             log_every=50, cap=math.inf):
    """The JAX trainer's loop on a clock: (steps trained, seconds used, lengths asked)."""
    fit = ScheduleFit(budget, probe_every, cap)
    clock = training = compile_seconds  # the budget's clock, and the one without probes
    step, length, lengths = 0, cap, []
    while step < length and clock < budget:
        clock += step_seconds
        training += step_seconds
        step += 1
        if step % log_every == 0 or step == 1 or step >= length:  # a reached plan is asked again
            fitted = fit.update(step, training, clock)
            length = length if fitted is None else fitted
            lengths.append(length)
        if probe_due(step, probe_every, length, step >= length):
            cost = first_probe_seconds if step == probe_every else probe_seconds
            clock += cost
            fit.add_overhead(cost)
    return step, clock, lengths


@pytest.mark.parametrize("probe_every", [0, 1000])
def test_the_fitted_run_ends_its_schedule_inside_the_budget(probe_every):
    # an H200-like call: 510 s, a minute of compiling, 20 steps/s, probes of 6 s (the first 30 s)
    step, clock, lengths = simulate(510, 60, 0.05, probe_every, 6.0, 30.0)
    probes = (step // probe_every + (step % probe_every >= probe_every / 4)) * 6.0 + 24.0 if probe_every else 0.0
    ideal = (510 - 60 - probes) / 0.05
    assert clock <= 510 + 0.05  # finished by its length, not cut by the budget...
    assert step == lengths[-1]  # ...at the length it was last given
    assert step == pytest.approx(ideal, rel=0.01)
    planned = [n for n in lengths if n != math.inf]
    assert lengths[0] == math.inf and len(planned) == len(lengths) - 1  # one timed stretch is enough
    if not probe_every:  # steady steps: the first plan is already the last
        assert planned[0] == pytest.approx(step, rel=0.01)


def test_a_costly_first_probe_shortens_the_plan_until_a_cheaper_one_is_timed():
    _, _, lengths = simulate(510, 60, 0.05, 1000, 6.0, 30.0)
    dip = min(lengths)
    assert dip < lengths[-1] - 100  # the first probe's 30 s counted for every probe...
    assert lengths[-1] - dip > 0  # ...until the second one's 6 s replaced it


def test_update_leaves_out_the_first_stretch_which_compiled_the_step():
    fit = ScheduleFit(100, min_steps=10)
    assert fit.update(1, 30.0, 30.0) is None  # step 1 took 30 s: compiling, not training
    assert fit.update(11, 31.0, 31.0) == 11 + 690  # ten steps in 1 s: 69 s left at 0.1 s each
    assert fit.train_steps == 10 and fit.train_seconds == pytest.approx(1.0)


def test_length_is_capped_unknown_before_enough_timing_and_never_behind():
    fit = ScheduleFit(100, cap=500)
    assert fit.length(0, 0.0) is None
    fit.add_training(10, 1.0)  # 0.1 s per step: 1,000 steps would fit
    assert fit.length(10, 1.0) == 500
    assert fit.length(400, 99.95) == 400  # out of time: no step more, never behind
    few = ScheduleFit(100, min_steps=30)
    few.add_training(10, 1.0)
    assert few.length(10, 1.0) is None  # ten steps are too few to plan a run from
    with pytest.raises(ValueError, match="positive time budget"):
        ScheduleFit(0)


def test_a_probe_just_before_the_end_is_left_to_the_end():
    due = [step for step in range(1, 1602) if probe_due(step, 400, 1601, step >= 1601)]
    assert due == [400, 800, 1200, 1601]  # not 1600: the end's probe, one step later, measures it
    assert [s for s in range(1, 1801) if probe_due(s, 400, 1800, s >= 1800)] == [400, 800, 1200, 1600, 1800]
    assert [s for s in range(1, 1001) if probe_due(s, 400, math.inf, s >= 1000)] == [400, 800, 1000]
    assert not any(probe_due(s, 0, 10, s >= 10) for s in range(1, 11))  # probing off
