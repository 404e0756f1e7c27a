"""Training on several workers: two TensorFlow processes on this machine under
``--strategy multiworker`` (each its own TF_CONFIG) end with the same weights."""

import json
import os
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.training.conftest import TINY_SETS, TINY_UNET


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def weights(path):
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


# Two processes (~50 s in a full run): -m slow. The strategy's arithmetic (the loss averaged over
# the global batch, the same weights as one device) is tests/models/test_cgan.py's mirrored step;
# the diffusion run repeats the same engine path with a second model (and minilm's caption cache).
@pytest.mark.slow
@pytest.mark.parametrize("model, extra", [("cgan", TINY_SETS), ("diffusion", TINY_UNET)])
def test_two_workers_train_to_the_same_weights(tmp_path, emoji_folder, model, extra):
    cluster = [f"127.0.0.1:{p}" for p in free_ports(2)]
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    workers = []
    for index in range(2):
        config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "emoji_t2i.train", "--model", model, "--strategy", "multiworker",
             "--data", str(emoji_folder), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
             "--out", str(out), *extra],
            env={**env, "TF_CONFIG": json.dumps(config)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-3000:]
    # the first worker writes --out, the second its own copy beside it
    second = tmp_path / "run-worker1"
    assert json.loads((out / "config.json").read_text())["strategy"] == "multiworker"
    chief, other = weights(out / "preset" / "model.weights.h5"), weights(second / "preset" / "model.weights.h5")
    assert chief.keys() == other.keys() and len(chief) > 4
    different = [k for k in chief if not np.array_equal(chief[k], other[k])]
    assert not different, f"{len(different)} of {len(chief)} weights differ between the workers: {different[:3]}"
    # both logged the same global losses, averaged over the workers
    logs = [dict(zip(*[line.split(",") for line in (run / "history.csv").read_text().splitlines()], strict=True))
            for run in (out, second)]
    losses = [k for k in logs[0] if k.endswith("loss")]
    assert losses and all(logs[0][k] == logs[1][k] for k in losses), logs
    assert json.loads((out / "preset" / "metadata.json").read_text())["steps"] == 2
