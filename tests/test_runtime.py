import numpy as np
import pytest

from cnnbook import runtime


def test_profile_default_is_quick_without_gpu(monkeypatch):
    monkeypatch.delenv(runtime.ENV_VAR, raising=False)
    assert runtime.profile() == ("full" if runtime.has_gpu() else "quick")


@pytest.mark.parametrize("value,expected", [("quick", "quick"), ("full", "full"), ("FULL", "full")])
def test_profile_env_override(monkeypatch, value, expected):
    monkeypatch.setenv(runtime.ENV_VAR, value)
    assert runtime.profile() == expected


def test_bad_profile_names_allowed_values(monkeypatch):
    monkeypatch.setenv(runtime.ENV_VAR, "fast")
    with pytest.raises(ValueError, match=r"CNNBOOK_PROFILE='fast'.*'quick', 'full'"):
        runtime.profile()


def test_budget_picks_profile(monkeypatch):
    monkeypatch.setenv(runtime.ENV_VAR, "quick")
    b = runtime.budget(quick={"epochs": 2, "n": 10}, full={"epochs": 30, "n": None})
    assert (b.epochs, b["n"], b.profile) == (2, 10, "quick")
    monkeypatch.setenv(runtime.ENV_VAR, "full")
    b = runtime.budget(quick={"epochs": 2, "n": 10}, full={"epochs": 30, "n": None})
    assert (b.epochs, b.n, dict(b)) == (30, None, {"epochs": 30, "n": None})


def test_budget_bad_input():
    with pytest.raises(ValueError, match="same budget keys"):
        runtime.budget(quick={"epochs": 1}, full={"steps": 1})
    with pytest.raises(ValueError, match="quick must be a mapping"):
        runtime.budget(quick=[1], full={})
    with pytest.raises(AttributeError, match="no entry 'steps'"):
        runtime.budget(quick={"epochs": 1}, full={"epochs": 2}).steps


def test_smoke_shrinks_only_the_named_full_values(monkeypatch):
    monkeypatch.setenv(runtime.ENV_VAR, "full")
    monkeypatch.setenv(runtime.SMOKE_ENV_VAR, "1")
    b = runtime.budget(quick={"epochs": 2, "n": 10}, full={"epochs": 30, "n": None}, smoke={"epochs": 1})
    assert (b.profile, b.smoke, dict(b)) == ("full", True, {"epochs": 1, "n": None})
    assert "smoke" in repr(b)
    monkeypatch.delenv(runtime.ENV_VAR)
    assert runtime.profile() == "full"  # smoke runs the full profile's code
    monkeypatch.setenv(runtime.SMOKE_ENV_VAR, "0")
    b = runtime.budget(quick={"epochs": 2}, full={"epochs": 30}, smoke={"epochs": 1})
    assert b.smoke is False and b.epochs == (30 if runtime.has_gpu() else 2)


def test_smoke_bad_input(monkeypatch):
    monkeypatch.setenv(runtime.SMOKE_ENV_VAR, "yes")
    with pytest.raises(ValueError, match="CNNBOOK_SMOKE='yes' is not allowed"):
        runtime.smoke()
    monkeypatch.setenv(runtime.SMOKE_ENV_VAR, "1")
    monkeypatch.setenv(runtime.ENV_VAR, "quick")
    with pytest.raises(ValueError, match="CNNBOOK_PROFILE=quick"):
        runtime.profile()
    monkeypatch.setenv(runtime.ENV_VAR, "full")
    with pytest.raises(ValueError, match=r"smoke may only replace keys of full; \['steps'\]"):
        runtime.budget(quick={"epochs": 1}, full={"epochs": 2}, smoke={"steps": 1})
    with pytest.raises(ValueError, match="smoke must be a mapping"):
        runtime.budget(quick={"epochs": 1}, full={"epochs": 2}, smoke=[1])


@pytest.mark.parametrize("env,expected", [
    ({"CNNBOOK_PROFILE": "quick"}, 0),
    ({"CNNBOOK_PROFILE": "full"}, 2),
    ({"CNNBOOK_PROFILE": "full", "CNNBOOK_SMOKE": "1"}, 0),
    ({"CNNBOOK_PROFILE": "quick", "CNNBOOK_PROGRESS": "1"}, 1),
    ({"CNNBOOK_PROFILE": "full", "CNNBOOK_PROGRESS": "0"}, 0),
])
def test_progress_is_quiet_except_at_full_scale(monkeypatch, env, expected):
    for name in (runtime.ENV_VAR, runtime.SMOKE_ENV_VAR, runtime.PROGRESS_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert runtime.progress() == expected


def test_progress_bad_input(monkeypatch):
    monkeypatch.setenv(runtime.PROGRESS_ENV_VAR, "loud")
    with pytest.raises(ValueError, match="CNNBOOK_PROGRESS='loud' is not allowed; use 0"):
        runtime.progress()


def test_seed_makes_training_repeat():
    import keras

    def run():
        runtime.seed(3)
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        m.fit(x, x.sum(axis=1), epochs=2, batch_size=16, verbose=0)
        return [w.copy() for w in m.get_weights()]

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_bad_input(bad):
    with pytest.raises(ValueError, match="value must be a non-negative int"):
        runtime.seed(bad)


def test_device_report_lists_versions():
    import tensorflow as tf

    text = runtime.device_report()
    assert f"tensorflow  : {tf.__version__}" in text
    assert "profile     : quick" in text
