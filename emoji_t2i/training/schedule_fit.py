"""A run's length fitted to a time budget as it goes, so its cosine decay ends when the budget does.

A GPU call has a fixed number of minutes, and the steps that fit in them are known only once
the first steps have run: compiling, the probe's sampling and checkpoints all take a share.
A length guessed beforehand either stops the run with the learning rate still high (the
eight-style run was cut at 40 % of its peak) or ends it early. The JAX trainer
(``train_jax train --fit-schedule``) asks ``ScheduleFit`` for the length at every log line and
passes it into its jitted step, where ``networks.lr_schedules.warmup_cosine`` reads it.

Nothing here imports a framework; the arithmetic is tested on its own
(``tests/training/test_schedule_fit.py``).
"""

from __future__ import annotations

import math


def probe_due(step: int, probe_every: int, length: float, finished: bool) -> bool:
    """Whether a run probes after ``step``: every ``probe_every`` steps and at its end. A
    regular probe that falls within the last quarter of ``probe_every`` before the end is left
    to the end's, which would measure nearly the same EMA: measured, a fitted 70-minute CPU run
    probed at step 1,600 and again at its end, 1,601, two minutes apiece."""
    if not probe_every:
        return False
    return finished or (step % probe_every == 0 and length - step >= probe_every / 4)


class ScheduleFit:
    """The run's length that spends what is left of ``budget_seconds``: training steps at the
    measured seconds per step, plus a probe (and the checkpoint after it) every
    ``probe_every`` steps and one at the end, each costing what the last one did.

    A trainer calls ``update(step, training_seconds, elapsed)`` at every log line: the stretch
    since the last call counts as training (the first stretch, which compiled the step, does
    not), and the answer is ``length(step, elapsed)``. ``add_overhead(seconds)`` takes one probe
    with its checkpoint. ``length`` is None until ``min_steps`` have been timed (one slow step
    would plan the whole run), and never exceeds ``cap`` (the run's ``--steps``) nor falls below
    ``step``: a run whose plan is reached asks again, and stops when no step fits.
    """

    def __init__(self, budget_seconds: float, probe_every: int = 0, cap: float = math.inf, min_steps: int = 10):
        if budget_seconds <= 0:
            raise ValueError(f"a fitted schedule needs a positive time budget, not {budget_seconds}")
        self.budget, self.probe_every, self.cap = float(budget_seconds), int(probe_every), cap
        self.min_steps = int(min_steps)
        self.train_steps, self.train_seconds = 0, 0.0
        self.overhead = 0.0
        self._mark = None  # (step, training seconds) of the last update

    def update(self, step: int, training_seconds: float, elapsed: float) -> int | None:
        """``training_seconds``: the run's clock without probes and checkpoints; ``elapsed``:
        the budget's clock, everything included."""
        if self._mark is not None:
            self.add_training(step - self._mark[0], training_seconds - self._mark[1])
        self._mark = (int(step), float(training_seconds))
        return self.length(step, elapsed)

    def add_training(self, steps: int, seconds: float) -> None:
        if steps > 0 and seconds > 0:
            self.train_steps += int(steps)
            self.train_seconds += float(seconds)

    def add_overhead(self, seconds: float) -> None:
        # the latest, not the mean: what a probe costs as the machine runs now
        self.overhead = max(0.0, float(seconds))

    def length(self, step: int, elapsed: float) -> int | None:
        if self.train_steps < self.min_steps:
            return None
        per_step = self.train_seconds / self.train_steps
        final = self.overhead if self.probe_every else 0.0
        if self.probe_every:
            per_step += self.overhead / self.probe_every
        more = math.floor((self.budget - elapsed - final) / per_step)
        return int(min(self.cap, step + max(0, more)))
