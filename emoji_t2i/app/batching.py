"""A sampling queue that serves people generating at once in one batched model call.

Streamlit runs each session in its own thread. Four sessions sampling in parallel on a 2-core
CPU share the cores and all finish together; one at a time behind a lock, the first is served
sooner and the last later than in parallel (docs/app.md measures both). A batch of 16 emoji
costs less than four batches of 4, so requests that wait while the model is busy are joined
into the next call: every one is served in about the time of one batched call.

Plain Python and threads (tested without Streamlit): ``submit`` returns a ``Request`` whose
``steps_done`` a caller may poll for a progress bar and whose ``result()`` waits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from emoji_t2i.pipelines.text_to_image import SAMPLE_CHUNK


@dataclass
class Request:
    prompt: str
    n: int
    seed: int
    options: dict
    steps_done: int = 0
    batched_with: int = 0  # requests served by the same model call, this one included
    arrived: float = field(default_factory=time.monotonic)
    gather: bool = False  # wait for others clicking at the same moment (set by the queue)
    done: threading.Event = field(default_factory=threading.Event)
    images: np.ndarray | None = None
    error: BaseException | None = None

    def result(self, timeout: float | None = None) -> np.ndarray:
        if not self.done.wait(timeout):
            raise TimeoutError("the sampling queue did not answer in time")
        if self.error is not None:
            raise self.error
        return self.images


class SamplingQueue:
    """One per loaded text-to-image pipeline: a worker thread takes the oldest waiting request
    and every other waiting one with the same sampling options, up to ``max_images`` images,
    and samples them in one ``pipe.sample_many`` call. When people are generating (a request
    came within ``busy_seconds`` of the one before), the worker waits ``gather_seconds`` after
    a request arrives for others clicked at about the same moment; someone alone never waits.
    Measured (docs/app.md): with 0.3 s three of four simultaneous clicks joined, with 1 s all."""

    def __init__(self, pipe, max_images: int = SAMPLE_CHUNK, gather_seconds: float = 1.0,
                 busy_seconds: float = 30.0):
        self.pipe, self.max_images, self.gather_seconds = pipe, int(max_images), float(gather_seconds)
        self.busy_seconds, self._last_arrival = float(busy_seconds), float("-inf")
        self._pending: list[Request] = []
        self._closed = False
        self._wake = threading.Condition()
        self._worker = threading.Thread(target=self._serve, name="emoji_t2i-sampling", daemon=True)
        self._worker.start()

    def submit(self, prompt: str, n: int, seed: int, **options) -> Request:
        request = Request(prompt, int(n), int(seed), dict(options))
        with self._wake:
            request.gather = request.arrived - self._last_arrival < self.busy_seconds or bool(self._pending)
            self._last_arrival = request.arrived
            self._pending.append(request)
            self._wake.notify()
        return request

    def close(self, timeout: float = 60.0) -> None:
        """Stop the worker after the requests already waiting (a test's clean exit)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._worker.join(timeout)

    def waiting(self) -> int:
        with self._wake:
            return len(self._pending)

    def _next_batch(self) -> list[Request] | None:
        with self._wake:
            while not self._pending:
                if self._closed:
                    return None
                self._wake.wait()
            first = self._pending[0]
            while first.gather and (left := first.arrived + self.gather_seconds - time.monotonic()) > 0:
                self._wake.wait(left)
            batch, images = [], 0
            for request in list(self._pending):
                if request is first or (request.options == first.options and images + request.n <= self.max_images):
                    batch.append(request)
                    images += request.n
            for request in batch:
                self._pending.remove(request)
            return batch

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:

            def step(batch=batch):
                for request in batch:
                    request.steps_done += 1

            for request in batch:
                request.batched_with = len(batch)
            try:
                results = self.pipe.sample_many([(r.prompt, r.n, r.seed) for r in batch], progress=step,
                                                **batch[0].options)
                for request, images in zip(batch, results, strict=True):
                    request.images = images
            except Exception as e:  # every waiting person hears of it; the worker lives on
                for request in batch:
                    request.error = e
            finally:
                for request in batch:
                    request.done.set()
