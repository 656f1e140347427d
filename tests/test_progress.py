"""Long runs report progress when cnnbook.runtime.progress() says so, and print nothing otherwise.

A full-profile chapter on a GPU runs for minutes to hours, so train.fit, compare_training, fast_fit,
nas.evaluate, nas.search and lowlevel.train print a line per epoch, chunk or child there. Under the
quick profile (the book build, whose stored outputs nbval compares, and these tests) and in smoke
runs they must print nothing at all. ``CNNBOOK_PROGRESS`` switches the lines on here, as a reader
would on a CPU.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from cnnbook import lowlevel, nas, runtime, train

#: Every kind of progress line the package prints (Keras's "Epoch k/n" included); none may show up
#: when progress is off, on stdout or stderr.
ANY_LINE = re.compile(r"^(Epoch \d+/\d+|\d+/\d+ [━.\[ -]|epoch \d+/\d+:|child|\w+ search:|.*\(chunk \d+/\d+\)|"
                      r".*: done in )", re.M)

NUMBER = r"(\d+\.\d+)"


@pytest.fixture
def progress(monkeypatch):
    """``progress("on")``: CNNBOOK_PROGRESS=2; ``progress("off")``: the quick profile, as the book and
    the tests run (no CNNBOOK_PROGRESS); ``progress("smoke")``: CI's smoke run of the full profile."""

    def set_mode(mode: str) -> None:
        for var in (runtime.PROGRESS_ENV_VAR, runtime.SMOKE_ENV_VAR):
            monkeypatch.delenv(var, raising=False)
        if mode == "on":
            monkeypatch.setenv(runtime.PROGRESS_ENV_VAR, "2")
        elif mode == "off":
            monkeypatch.setenv(runtime.ENV_VAR, "quick")
        elif mode == "smoke":
            monkeypatch.setenv(runtime.ENV_VAR, "full")
            monkeypatch.setenv(runtime.SMOKE_ENV_VAR, "1")
        else:  # pragma: no cover - a typo in a test
            raise ValueError(mode)
        assert runtime.progress() == (2 if mode == "on" else 0)

    return set_mode


def _data(n: int = 32, side: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.uniform(0, 0.3, size=(n, side, side, 1)).astype("float32")
    x[y == 1, :, : side // 2] += 0.6
    return x, y


def _net(name: str = "tiny") -> keras.Model:
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h), name=name)


def _compiled() -> keras.Model:
    m = _net()
    m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _captured(capfd, call):
    capfd.readouterr()  # drop what building the model printed
    result = call()
    out, err = capfd.readouterr()
    return result, out, err


def _assert_quiet(out: str, err: str) -> None:
    assert out == "", f"printed with progress off:\n{out}"
    assert not ANY_LINE.search(err), f"progress lines on stderr with progress off:\n{err}"


# ---------------------------------------------------------------- train.fit: Keras's own epoch lines


@pytest.mark.parametrize("mode", ["on", "off", "smoke"])
def test_fit_epoch_lines_follow_runtime_progress(mode, progress, capfd):
    progress(mode)
    x, y = _data()
    model = _compiled()
    hist, out, err = _captured(capfd, lambda: train.fit(model, (x, y), epochs=2, batch_size=16, seed=0))
    assert len(hist.history["loss"]) == 2
    if mode != "on":
        _assert_quiet(out, err)
        return
    assert re.findall(r"^Epoch (\d)/2$", out, re.M) == ["1", "2"]
    # verbose=2: one line per epoch with its time and metrics, no progress bar
    metric_lines = [line for line in out.splitlines() if "loss:" in line]
    assert len(metric_lines) == 2 and all("accuracy:" in line and re.search(r"\d+m?s", line) for line in metric_lines)
    assert "━" not in out  # the progress bar of verbose=1


def test_fit_explicit_verbose_wins(progress, capfd):
    progress("on")
    x, y = _data()
    _, out, err = _captured(capfd, lambda: train.fit(_compiled(), (x, y), epochs=1, batch_size=16, verbose=0))
    _assert_quiet(out, err)
    progress("off")
    _, out, _ = _captured(capfd, lambda: train.fit(_compiled(), (x, y), epochs=2, batch_size=16, verbose=2))
    assert re.findall(r"^Epoch (\d)/2$", out, re.M) == ["1", "2"]


@pytest.mark.parametrize("bad", [3, -1, True, "2", 1.0, "loud"])
def test_bad_verbose_is_refused_before_training(bad):
    x, y = _data(8)
    with pytest.raises(ValueError, match=r"verbose must be 0 \(quiet\), 1 .*'auto'"):
        train.fit(_compiled(), (x, y), epochs=1, verbose=bad)
    for call in (lambda: train.compare_training({"n": _net}, (x, y), steps=2, points=1, verbose=bad),
                 lambda: train.fast_fit(_net(), x, y, epochs=1, batch_size=8, verbose=bad),
                 lambda: nas.search(((x, y), (x, y)), strategy="random", budget=1, verbose=bad),
                 lambda: lowlevel.train(lowlevel.LowLevelCNN((12, 12, 1), 2, filters=(2, 2)),
                                        _data(8, 12), epochs=1, verbose=bad)):
        with pytest.raises(ValueError, match="verbose must be"):
            call()


# ---------------------------------------------------------------- compare_training: a line per chunk


@pytest.mark.parametrize("mode", ["on", "off"])
def test_compare_training_lines_per_chunk_and_run(mode, progress, capfd):
    progress(mode)
    x, y = _data()
    runs, out, err = _captured(capfd, lambda: train.compare_training(
        {"tiny": _net}, (x, y), seeds=(3,), steps=4, points=2, batch_size=8, test=(x, y)))
    rec = runs["tiny"]
    if mode == "off":
        _assert_quiet(out, err)
        return
    chunk = re.compile(rf"^tiny seed 3 \(run 1/1\): step (\d)/4 \(chunk (\d)/2\), train error {NUMBER}, "
                       rf"loss {NUMBER}, {NUMBER} s$")
    lines = out.strip().splitlines()
    assert len(lines) == 3, out
    found = [chunk.match(line) for line in lines[:2]]
    assert all(found), out
    assert [(m[1], m[2]) for m in found] == [("2", "1"), ("4", "2")]
    # the numbers are the run's own: the curve compare_training returns, and a clock that moves on
    np.testing.assert_allclose([float(m[3]) for m in found], rec["train_error"][0], atol=6e-5)
    np.testing.assert_allclose([float(m[4]) for m in found], rec["loss"][0], rtol=1e-3, atol=6e-5)
    assert float(found[0][5]) <= float(found[1][5])
    done = re.match(rf"^tiny seed 3 \(run 1/1\): done in {NUMBER} s, test error {NUMBER}$", lines[2])
    assert done, lines[2]
    assert float(done[2]) == pytest.approx(rec["test_error"][0], abs=6e-5)
    assert float(done[1]) <= rec["seconds"] + 0.05


# ---------------------------------------------------------------- fast_fit, nas.evaluate, nas.search


@pytest.mark.parametrize("mode", ["on", "off"])
def test_fast_fit_line_per_epoch(mode, progress, capfd):
    progress(mode)
    x, y = _data()
    losses, out, err = _captured(capfd, lambda: train.fast_fit(_net(), x, y, epochs=2, batch_size=16, seed=0))
    if mode == "off":
        _assert_quiet(out, err)
        return
    found = re.findall(rf"^epoch (\d)/2: loss {NUMBER}, {NUMBER} s$", out, re.M)
    assert [f[0] for f in found] == ["1", "2"] and len(out.strip().splitlines()) == 2, out
    np.testing.assert_allclose([float(f[1]) for f in found], losses, atol=6e-5)


SPACE = nas.SearchSpace(blocks=1, filters=4)


@pytest.mark.parametrize("mode", ["on", "off"])
def test_search_line_per_child(mode, progress, capfd):
    progress(mode)
    x, y = _data(64)
    data = ((x[:48], y[:48]), (x[48:], y[48:]))
    result, out, err = _captured(capfd, lambda: nas.search(
        data, strategy="random", budget=2, space=SPACE, epochs=1, batch_size=16, seed=0))
    if mode == "off":
        _assert_quiet(out, err)
        return
    lines = out.strip().splitlines()
    # one line per child and a closing one; the children's own epoch and reward lines stay quiet
    assert len(lines) == 3, out
    child = re.compile(rf"^child (\d)/2 \(random\): reward {NUMBER} \(best {NUMBER}\), {NUMBER} s, "
                       rf"{NUMBER} s in all$")
    found = [child.match(line) for line in lines[:2]]
    assert all(found), out
    assert [m[1] for m in found] == ["1", "2"]
    np.testing.assert_allclose([float(m[2]) for m in found], result.rewards, atol=6e-4)
    np.testing.assert_allclose([float(m[3]) for m in found], result.running_best(), atol=6e-4)
    np.testing.assert_allclose([float(m[4]) for m in found], [t.seconds for t in result.history], atol=0.06)
    top = int(np.argmax(result.rewards)) + 1
    assert re.match(rf"^random search: 2 of 2 children in {NUMBER} s, best reward {NUMBER} \(child {top}\)$",
                    lines[2]), lines[2]


def test_evaluate_lines_when_on_and_quiet_when_off(progress, capfd):
    x, y = _data(64)
    data = ((x[:48], y[:48]), (x[48:], y[48:]))
    arch = SPACE.sample(np.random.default_rng(0))
    progress("off")
    _, out, err = _captured(capfd, lambda: nas.evaluate(arch, data, epochs=1, batch_size=16))
    _assert_quiet(out, err)
    progress("on")
    trial, out, _ = _captured(capfd, lambda: nas.evaluate(arch, data, epochs=2, batch_size=16))
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/2: loss ") and lines[1].startswith("epoch 2/2: loss ")
    m = re.match(rf"^child: reward {NUMBER}, ([\d,]+) params, {NUMBER} s$", lines[2])
    assert m and float(m[1]) == pytest.approx(trial.reward, abs=6e-4) and int(m[2].replace(",", "")) == trial.params


# ---------------------------------------------------------------- chapter 3's low-level loop


@pytest.mark.parametrize("mode", ["on", "off"])
def test_lowlevel_train_line_per_epoch(mode, progress, capfd):
    progress(mode)
    x, y = _data(32, 12)
    net = lowlevel.LowLevelCNN((12, 12, 1), 2, filters=(2, 4), seed=0)
    hist, out, err = _captured(capfd, lambda: lowlevel.train(net, (x, y), epochs=2, batch_size=16,
                                                             validation_data=(x, y)))
    if mode == "off":
        _assert_quiet(out, err)
        return
    found = re.findall(rf"^epoch (\d)/2: loss {NUMBER}, accuracy {NUMBER}, val_accuracy {NUMBER}, {NUMBER} s$",
                       out, re.M)
    assert [f[0] for f in found] == ["1", "2"] and len(out.strip().splitlines()) == 2, out
    for key, col in (("loss", 1), ("accuracy", 2), ("val_accuracy", 3)):
        np.testing.assert_allclose([float(f[col]) for f in found], hist[key], atol=6e-5)
