"""Distribution through tf.distribute, on a CPU-only machine.

Logical devices must be configured before TensorFlow initialises, and a pytest process has
TensorFlow initialised by other tests, so each run happens in a fresh subprocess:

- ``MirroredStrategy`` over two logical CPU devices gives the same losses and weights as one
  device with the same global batch (to float tolerance);
- two processes on localhost ports form a ``MultiWorkerMirroredStrategy`` cluster through
  ``TF_CONFIG`` and train in sync (same weights on both workers, same losses as one process).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cnnbook import runtime

ROOT = Path(__file__).resolve().parents[1]

TRAIN = textwrap.dedent(
    """
    import json, os, sys, warnings
    mode, out = sys.argv[1], sys.argv[2]
    from cnnbook import runtime
    if mode == "mirrored":
        devices = runtime.split_cpu(2)
    import numpy as np
    import keras
    from cnnbook import data, models, train

    if mode == "mirrored":
        strategy = runtime.strategy(devices=devices)
    else:
        strategy = runtime.strategy()        # "one": OneDeviceStrategy; "worker": from TF_CONFIG
    (x, y), _ = data.load("digits28", n_train=256)
    runtime.seed(0)
    with strategy.scope():
        model = models.mnist_convnet(dropout=0.0)   # no random masks: replicas see the same net
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    n = runtime.replicas(strategy)
    result = {"strategy": type(strategy).__name__, "replicas": n}
    if n > 1:
        try:
            train.fit(model, (x, y), epochs=1, global_batch_size=2 * n + 1)
        except ValueError as err:
            result["bad_batch"] = str(err)
    h = train.fit(model, (x, y), epochs=3, batch_size=32 // n, seed=5,
                  backup_dir=os.path.join(os.path.dirname(out), "backup"))
    result["loss"] = [float(v) for v in h.history["loss"]]
    np.savez(out + ".npz", *model.get_weights())
    with open(out, "w") as f:
        json.dump(result, f)
    """
)


def _env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CNNBOOK_PROFILE="quick", PYTHONPATH=str(ROOT),
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _start(mode: str, out: Path, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", TRAIN, mode, str(out)], env=_env(**env), cwd=out.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 150) -> None:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"subprocess timed out:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]


def _result(out: Path):
    return json.loads(out.read_text()), [w for _, w in sorted(np.load(str(out) + ".npz").items(),
                                                              key=lambda kv: int(kv[0].split("_")[1]))]


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "result.json"
    _finish(_start("one", out))
    return _result(out)


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_matches_one_device(tmp_path, one_device):
    out = tmp_path / "result.json"
    _finish(_start("mirrored", out))
    res, weights = _result(out)
    ref, ref_weights = one_device
    assert (res["strategy"], res["replicas"]) == ("MirroredStrategy", 2)
    assert ref["strategy"] == "OneDeviceStrategy" and ref["replicas"] == 1
    assert "does not split over the 2 replicas" in res["bad_batch"]
    np.testing.assert_allclose(res["loss"], ref["loss"], rtol=1e-4)
    for a, b in zip(weights, ref_weights):
        np.testing.assert_allclose(a, b, atol=1e-3)  # summation order differs: float drift only


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_on_localhost(tmp_path, one_device):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs, outs = [], []
    for i in range(2):
        folder = tmp_path / f"w{i}"
        folder.mkdir()
        outs.append(folder / "result.json")
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        procs.append(_start("worker", outs[-1], TF_CONFIG=tf_config))
    for p in procs:
        _finish(p)
    (r0, w0), (r1, w1) = _result(outs[0]), _result(outs[1])
    assert r0["strategy"] in ("MultiWorkerMirroredStrategy", "CollectiveAllReduceStrategy")
    assert r0["replicas"] == r1["replicas"] == 2
    for a, b in zip(w0, w1):  # the workers hold the same model
        np.testing.assert_array_equal(a, b)
    ref, ref_weights = one_device  # and it is the model one process trains on the global batch
    np.testing.assert_allclose(r0["loss"], ref["loss"], rtol=1e-3)
    for a, b in zip(w0, ref_weights):
        np.testing.assert_allclose(a, b, atol=1e-3)


# ------------------------------------------------------------------------------ TF_CONFIG checks


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ('["worker"]', 'must be a JSON object with a "cluster"'),
        ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "names a:1 twice"),
        ('{"cluster": {"chief": ["a:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}',
         "names a:1 twice"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "task index 2"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "ps", "index": 0}}', "not a job"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}}', '"task"'),
        ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ],
)
def test_bad_tf_config(text, match):
    with pytest.raises(ValueError, match=match):
        runtime.parse_tf_config(text)


def test_strategy_refuses_a_bad_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{oops")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        runtime.strategy()


def test_good_tf_config_and_defaults(monkeypatch):
    cfg = runtime.parse_tf_config('{"cluster": {"worker": ["h1:2222", "h2:2222"]}, '
                                  '"task": {"type": "worker", "index": 1}}')
    assert cfg["task"]["index"] == 1
    assert runtime.parse_tf_config("") is None
    monkeypatch.delenv("TF_CONFIG", raising=False)
    s = runtime.strategy()
    assert type(s).__name__ == "OneDeviceStrategy" and runtime.replicas(s) == 1
    assert runtime.global_batch(32, s) == 32
    with pytest.raises(ValueError, match="per_replica"):
        runtime.global_batch(0, s)
    with pytest.raises(ValueError, match="at least one device"):
        runtime.strategy(devices=[])


def test_split_cpu_after_initialisation_is_a_clear_error():
    import tensorflow as tf

    tf.constant(1.0)  # TensorFlow is initialised now
    with pytest.raises(RuntimeError, match="before TensorFlow initialises"):
        runtime.split_cpu(2)
    with pytest.raises(ValueError, match="positive int"):
        runtime.split_cpu(0)


def test_mixed_precision_is_off_on_cpu_and_follows_the_switch(monkeypatch):
    import keras

    try:
        assert runtime.mixed_precision_supported() is False
        assert runtime.use_mixed_precision() is False  # quick profile, no GPU
        assert runtime.use_mixed_precision(True) is True
        runtime.seed(0)  # clear_session would reset the policy; seed keeps the choice
        assert keras.config.dtype_policy().name == "mixed_float16"
        from cnnbook import models

        m = models.mnist_convnet()
        assert m.layers[0].compute_dtype == "float16" and m.outputs[0].dtype == "float32"
        monkeypatch.setenv(runtime.MIXED_ENV_VAR, "yes")
        with pytest.raises(ValueError, match="use 0 or 1"):
            runtime.use_mixed_precision()
    finally:
        runtime.use_mixed_precision(False)
        runtime.seed(0)
    assert keras.config.dtype_policy().name == "float32"
