"""Optimizers and schedules against real Keras 3.15 (tests/fixtures/optimizers, made by
tests/fixtures/make_optimizer_fixtures.py): every optimizer, base option and schedule replayed step by step on both
the Numba and the numpy forms, the optimizer variables' order and names, get_config/serialize, and the errors."""
import json
import os
import warnings

import numpy as np
import pytest

from keraslite.errors import KerasliteError
from keraslite.train import constraints, ops
from keraslite.train import optimizers as O
from keraslite.train.autodiff import GradientTape, Tensor, Variable
from keraslite.train.layers.base import clear_session
from keraslite.train.optimizers import kernels

HERE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "optimizers")
with open(os.path.join(HERE, "cases.json")) as _f:
    FIX = json.load(_f)
ARRAYS = dict(np.load(os.path.join(HERE, "arrays.npz")))
CASES = FIX["cases"]
RTOL = 1e-6  # float32: relative to each array's scale (values that cancel to ~0 are compared to that scale)


def close(got, want, rtol=RTOL):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    scale = max(np.abs(want).max(), 1e-30)
    err = np.abs(got - want).max() / scale
    assert err <= rtol, f"max relative error {err:.3g} > {rtol}"


def split(row):
    return {"kernel": np.array(row[:12].reshape(3, 4)), "bias": np.array(row[12:])}


def schedule(name):
    spec = FIX["schedules"][name]
    return getattr(O.schedules, spec["class_name"])(**spec["kwargs"])


def make(name, use_numba=True):
    """The case's optimizer and its two variables (``dense/kernel``, ``dense/bias``) at Keras' initial values."""
    clear_session()
    case = CASES[name]
    kwargs, plan = dict(case["kwargs"]), case["plan"]
    if "schedule" in plan:
        kwargs["learning_rate"] = schedule(plan["schedule"])
    opt = getattr(O, case["class_name"])(**kwargs)
    opt._use_numba = use_numba
    variables = {}
    for n, value in split(ARRAYS[f"{name}/init"]).items():
        variables[n] = Variable(value, name=n)
        variables[n].path = f"dense/{n}"
    for n, (cls, ckw) in plan.get("constraint", {}).items():
        variables[n].constraint = getattr(constraints, cls)(**ckw)
    if "exclude_names" in plan or "exclude_vars" in plan:
        opt.exclude_from_weight_decay(var_list=[variables[n] for n in plan.get("exclude_vars", [])],
                                      var_names=plan.get("exclude_names"))
    return opt, variables


def step_grads(name, step, variables):
    g = split(ARRAYS[f"{name}/grads"][step])
    return [(None if np.isnan(g[n]).all() else g[n], variables[n]) for n in ("kernel", "bias")]


def flat(variables):
    return np.concatenate([variables[n].numpy().ravel() for n in ("kernel", "bias")])


@pytest.mark.parametrize("use_numba", [True, False], ids=["numba", "numpy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_replays_keras(name, use_numba):
    case = CASES[name]
    opt, variables = make(name, use_numba)
    lrs, iterations = [], []
    for step in range(FIX["steps"]):
        if str(step) in case["plan"].get("set_lr", {}):
            opt.learning_rate = case["plan"]["set_lr"][str(step)]
        lrs.append(float(np.asarray(opt.learning_rate)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the None-gradient cases warn; test_none_gradient checks that
            opt.apply_gradients(step_grads(name, step, variables))
        iterations.append(int(np.asarray(opt.iterations)))
        close(flat(variables), ARRAYS[f"{name}/after"][step])
    np.testing.assert_allclose(lrs, case["learning_rates"], rtol=1e-7)
    assert iterations == case["iterations"]
    assert [(v.path, v.name, list(v.shape), str(v.dtype)) for v in opt.variables] == [
        (v["path"], v["name"], v["shape"], v["dtype"]) for v in case["variables"]]
    close(np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in opt.variables]),
          ARRAYS[f"{name}/final"])
    assert opt.get_config() == case["config"]
    assert O.serialize(opt) == case["serialized"]
    if f"{name}/finalized" in ARRAYS:
        opt.finalize_variable_values([variables["kernel"], variables["bias"]])
        close(flat(variables), ARRAYS[f"{name}/finalized"])


@pytest.mark.parametrize("name", sorted(FIX["schedules"]))
def test_schedules_match_keras(name):
    spec = FIX["schedules"][name]
    s = schedule(name)
    steps = np.arange(FIX["schedules_steps"])
    close([float(s(int(k))) for k in steps], spec["values"], rtol=1e-6)
    assert s.get_config() == spec["config"]
    assert O.schedules.serialize(s) == spec["serialized"]
    again = O.schedules.deserialize(spec["serialized"])
    assert type(again) is type(s) and again.get_config() == spec["config"]
    if spec["class_name"] != "PiecewiseConstantDecay":  # an int step truncates float boundaries; arrays are float
        close(np.asarray(s(steps)), spec["values"], rtol=1e-6)  # a whole array of steps at once, as for plots


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_config_round_trips(name):
    case = CASES[name]
    clear_session()
    opt = O.deserialize(case["serialized"])
    assert type(opt).__name__ == case["class_name"]
    assert opt.get_config() == case["config"]
    assert O.get(O.serialize(opt)).get_config() == case["config"]


@pytest.mark.parametrize("name", sorted(FIX["legacy_cases"]))
def test_legacy_names_match_tf_keras_legacy(name):
    case = FIX["legacy_cases"][name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = getattr(O.legacy, case["class_name"])(**case["kwargs"])
    assert ("lr" in case["kwargs"]) == any("`lr` argument is deprecated" in str(w.message) for w in caught)
    variables = {n: Variable(v, name=n) for n, v in split(ARRAYS[f"{name}/init"]).items()}
    for step in range(FIX["steps"]):
        g = split(ARRAYS[f"{name}/grads"][step])
        opt.apply_gradients([(g[n], variables[n]) for n in ("kernel", "bias")])
        close(flat(variables), ARRAYS[f"{name}/after"][step])
    assert opt.get_config().get("decay", 0.0) == case["config"]["decay"]


def test_tf_keras_2_file_configs_load():
    """tf.keras 2 writes ``Custom>Adam`` with ``jit_compile``/``is_legacy_optimizer``; Keras < 2.3 wrote ``lr``."""
    config = {"name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
              "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
              "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-07, "amsgrad": False}
    opt = O.deserialize({"class_name": "Custom>Adam", "config": config})
    assert isinstance(opt, O.Adam) and opt.name == "Adam" and opt.epsilon == 1e-07
    old = O.get({"class_name": "SGD", "config": {"lr": 0.05, "momentum": 0.5, "decay": 0.0, "nesterov": False}})
    assert float(old.learning_rate) == np.float32(0.05) and old.momentum == 0.5


def test_string_names_and_get():
    for name in ("sgd", "adam", "rmsprop", "adamw", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion"):
        assert type(O.get(name)).__name__.lower() == name
    assert isinstance(O.get("Adam"), O.Adam) and isinstance(O.get(O.SGD), O.SGD)
    opt = O.Adam()
    assert O.get(opt) is opt and O.get(None) is None
    assert float(O.get("sgd").learning_rate) == np.float32(0.01)


def test_errors_name_the_fix():
    with pytest.raises(KerasliteError, match="Known optimizers: adadelta, adagrad, adam, adamax, adamw, ftrl, lion"):
        O.get("adamx")
    with pytest.raises(KerasliteError, match="does not implement"):
        O.get("adafactor")
    with pytest.raises(KerasliteError, match=r"Argument\(s\) not recognized: \{'lr': 0.1\}.*learning_rate=0.1"):
        O.Adam(lr=0.1)
    errors = FIX["errors"]  # Keras' own messages, recorded: ours start the same
    for key, call in {"two_clips": lambda: O.SGD(clipnorm=1.0, clipvalue=1.0),
                      "int_learning_rate": lambda: O.SGD(learning_rate=1),
                      "sgd_momentum_range": lambda: O.SGD(momentum=1.5),
                      "adamw_no_decay": lambda: O.AdamW(weight_decay=None),
                      "accumulate_1": lambda: O.SGD(gradient_accumulation_steps=1)}.items():
        with pytest.raises(KerasliteError) as info:
            call()
        assert str(info.value).startswith(errors[key].split(": ", 1)[1].rstrip("."))
    with pytest.raises(TypeError, match="not settable"):
        O.SGD(learning_rate=schedule("cosine")).learning_rate = 0.1


def test_bad_calls():
    opt = O.Adam()
    w, b = Variable(np.zeros((2, 3), "float32"), name="w"), Variable(np.zeros(3, "float32"), name="b")
    with pytest.raises(KerasliteError, match=r"has shape \(3, 2\), but the variable has shape \(2, 3\)"):
        opt.apply([np.ones((3, 2)), np.ones(3)], [w, b])
    opt.apply([np.ones((2, 3)), np.ones(3)], [w, b])
    with pytest.raises(KerasliteError, match="Unknown variable"):
        opt.apply([np.ones(3)], [Variable(np.zeros(3, "float32"))])
    with pytest.raises(KerasliteError, match="No gradients provided for any variable"):
        opt.apply([None, None], [w, b])
    with pytest.raises(KerasliteError, match="can only update keraslite Variables.*got ndarray"):
        O.SGD().apply([np.ones(3)], [np.zeros(3)])
    with pytest.raises(KerasliteError, match="must already be built"):
        O.SGD().apply([np.ones(3)])
    with pytest.raises(KerasliteError, match=r"has 6 variables .* but 2 values were given"):
        opt.set_variables([np.zeros(()), np.zeros(())])
    values = [v.numpy() for v in opt.variables]
    values[3] = np.zeros((4,))
    with pytest.raises(KerasliteError, match=r"value 3 .* has shape \(4,\), expected \(2, 3\)"):
        opt.set_variables(values)


def test_none_gradient_warns_and_skips():
    opt = O.SGD(learning_rate=0.5)
    w, b = Variable(np.ones(2, "float32"), name="w"), Variable(np.ones(2, "float32"), name="b")
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['b'\]"):
        opt.apply_gradients([(np.ones(2), w), (None, b)])
    np.testing.assert_array_equal(w.numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])


def test_state_round_trip_resumes_like_keras():
    """Three steps, the state copied into a fresh optimizer (as loading a saved model does), two more steps: the
    same weights as Keras' five uninterrupted steps."""
    for name in ("adam_amsgrad", "nadam", "rmsprop_centered_momentum", "adam_accumulate_ema_clip", "ftrl_params"):
        first, variables = make(name)
        for step in range(3):
            first.apply_gradients(step_grads(name, step, variables))
        store = {}
        first.save_own_variables(store)
        second = getattr(O, CASES[name]["class_name"])(**CASES[name]["kwargs"])
        second.build([variables["kernel"], variables["bias"]])
        second.load_own_variables(store)
        for step in range(3, 5):
            second.apply_gradients(step_grads(name, step, variables))
        close(flat(variables), ARRAYS[f"{name}/after"][4])


def test_unbuilt_load_warns_as_keras():
    with pytest.warns(UserWarning, match="has not been called/built yet"):
        O.Adam().load_own_variables({str(i): np.zeros(()) for i in range(6)})


class KerasDocSGD(O.Optimizer):
    """The custom optimizer of Keras 3's Optimizer docstring, written with ops and ``update_step``."""

    def __init__(self, learning_rate=0.05, momentum=0.9, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum

    def build(self, variables):
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(v, name="momentum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, ops.subtract(ops.multiply(m, self.momentum), ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, m)


def test_custom_update_step_matches_keras_sgd_momentum():
    _, variables = make("sgd_momentum")
    opt = KerasDocSGD()
    for step in range(5):
        pairs = step_grads("sgd_momentum", step, variables)
        opt.apply_gradients([(Tensor(g), v) for g, v in pairs])  # Tensors are accepted as gradients too
        close(flat(variables), ARRAYS["sgd_momentum/after"][step])


def test_minimize_keras_docstring_example():
    """RMSprop's docstring in Keras: one ``minimize`` of ``var1**2 / 2`` from 10.0 at lr 0.1 gives 9.683772."""
    var1 = Variable(10.0)
    O.RMSprop(learning_rate=0.1).minimize(lambda: (var1 ** 2) / 2.0, [var1])
    assert abs(float(var1.numpy()) - 9.683772) < 1e-5
    var2 = Variable(10.0)
    with GradientTape() as tape:
        loss = (var2 ** 2) / 2.0
    O.RMSprop(learning_rate=0.1).minimize(loss, [var2], tape=tape)
    assert abs(float(var2.numpy()) - 9.683772) < 1e-5


@pytest.mark.parametrize("rule", sorted(kernels.RULES))
def test_numba_and_numpy_forms_agree(rule):
    """Each fused rule, compiled and on numpy, over an odd-sized array (and 3 steps so slots matter)."""
    assert kernels.numba_available(), "numba must be importable for this test"
    rng = np.random.default_rng(7)
    n = 1037
    coefficient_sets = {"sgd": [0.1], "momentum": [0.1, 0.9, 1.0], "rmsprop": [0.01, 0.9, 0.1, 0.5, 1e-7, 1, 1],
                        "adam": [0.01, 3, 0.9, 0.999, 0.1, 0.001, 1e-7, 1], "adamax": [0.01, 3, 0.9, 0.1, 0.999, 1e-7],
                        "nadam": [0.01, 3, 0.9, 0.999, 1e-7, 0.7], "adagrad": [0.1, 1e-7],
                        "adadelta": [1.0, 0.95, 0.05, 1e-7], "ftrl": [0.1, 0.7, 0.01, 0.02, 0.5, 0.06],
                        "lion": [0.01, 0.9, 0.99], "decay": [0.01, 0.1], "ema": [0.9, 0.1]}
    slots = {"sgd": 0, "momentum": 1, "rmsprop": 3, "adam": 3, "adamax": 2, "nadam": 2, "adagrad": 1, "adadelta": 2,
             "ftrl": 2, "lion": 1, "decay": 0, "ema": 1}[rule]
    c = np.array(coefficient_sets[rule], np.float32)
    start = [rng.uniform(0.1, 1.0, n).astype("float32") for _ in range(slots + 1)]
    if rule == "rmsprop":
        start[3] *= 0.1  # the centered mean gradient, small enough that v - avg**2 stays positive
    grads = [rng.normal(0, 1, n).astype("float32") for _ in range(3)]
    results = []
    for form in (kernels.get(rule, True), kernels.get(rule, False)):
        arrays = [a.copy() for a in start]
        for g in grads:
            if rule == "decay":
                form(arrays[0], c)
            elif rule == "ema":
                form(arrays[1], arrays[0], c)
            else:
                form(g, c, *arrays)
        results.append(arrays)
    for a, b in zip(*results):
        close(a, b, rtol=2e-6)


def run_fresh(code, **env):
    """Run ``code`` in a new interpreter (so which modules are loaded is known); returns its stdout."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env), capture_output=True, text=True,
                          check=True).stdout.split()


STEP_CODE = ("import numpy as np, sys; from keraslite.train import optimizers as O; from keraslite.train.autodiff "
             "import Variable; v = Variable(np.ones(3, 'float32')); o = O.Adam(); o.apply([np.ones(3)], [v]); ")


def test_numba_disabled_environment_falls_back():
    """``KERASLITE_DISABLE_NUMBA=1`` gives the numpy forms (same numbers, no compiled loop)."""
    rule, value = run_fresh(STEP_CODE + "print(o._rule.__name__, float(v.numpy()[0]))", KERASLITE_DISABLE_NUMBA="1")
    assert rule == "_adam_np" and abs(float(value) - 0.999) < 1e-6


def test_small_models_do_not_import_numba_until_something_else_does():
    out = run_fresh(STEP_CODE + "print('numba' in sys.modules, o._numba); import numba; "
                    "o.apply([np.ones(3)], [v]); print(o._numba, o._rule.__name__, float(v.numpy()[0]))")
    assert out[:2] == ["False", "False"]  # 3 parameters: the numpy forms, Numba never imported
    # loaded by someone else: the compiled loop from then on (Adam's is in the runtime's C kernels)
    assert out[2:4] == ["True", "_adam_compiled"]
    assert abs(float(out[4]) - 0.998) < 1e-6
    assert kernels.use_numba(kernels.NUMBA_MIN_PARAMETERS)  # big models import it themselves


def test_keras_2_spellings_and_extras():
    opt = O.SGD(learning_rate=0.1)
    assert opt.lr is opt.learning_rate  # tf.keras 2's ``optimizer.lr``
    opt.lr = 0.5
    assert float(opt.learning_rate) == 0.5 and opt.variables[1].name == "learning_rate"
    assert opt.iterations.dtype == np.int64 and opt.iterations.name == "iteration"
    calls = []
    dyn = O.SGD(learning_rate=lambda: calls.append(1) or 0.25)  # a callable rate: no learning_rate variable
    w = Variable(np.ones(2, "float32"))
    dyn.apply([np.ones(2)], [w])
    assert calls and [v.name for v in dyn.variables] == ["iteration"]
    np.testing.assert_allclose(w.numpy(), [0.75, 0.75])
    s = schedule("exponential")
    assert O.schedules.get(s) is s and O.schedules.get(O.schedules.serialize(s)).get_config() == s.get_config()
    with pytest.raises(KerasliteError, match="Unknown learning rate schedule 'Nope'"):
        O.schedules.deserialize({"class_name": "Nope", "config": {}})
    assert O.serialize(KerasDocSGD())["registered_name"] == "KerasDocSGD"
    assert O.deserialize(O.serialize(KerasDocSGD()), {"KerasDocSGD": KerasDocSGD}).momentum == 0.9


def test_adam_on_the_compiled_kernels_follows_the_numpy_form():
    from keraslite.runtime import native
    from keraslite.train.optimizers.kernels import adam as A

    assert native.lib() is not None, "the compiled kernels are not built: reinstall with a C compiler present"
    rule = kernels.get("adam", True)
    assert rule.__name__ == "_adam_compiled"
    rng = np.random.default_rng(3)
    try:
        for amsgrad, threads in ((0.0, 1), (1.0, 1), (0.0, 2), (1.0, 2)):  # 4 chunks: on the pool with 2 threads
            native.set_num_threads(threads)
            c = np.array([1e-3, 7, 0.9, 0.999, 0.1, 0.001, 1e-7, amsgrad], np.float32)
            state = [rng.normal(size=100_003).astype("float32") for _ in range(4)]
            state[2] = np.abs(state[2])  # v
            state[3] = np.abs(state[3]) * 0.5  # vhat
            ref = [a.copy() for a in state]
            for step in range(3):
                g = rng.normal(size=100_003).astype("float32")
                rule(g, c, *state)
                A._adam_np(g, c, *ref)
            for got, want in zip(state, ref):
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    finally:
        native.set_num_threads(native._env_threads())
    with pytest.raises(ValueError, match="adam sizes"):
        native.lib().adam(np.ones(3, "float32"), np.ones(4, "float32"), np.ones(4, "float32"), np.ones(4, "float32"),
                          None, 0.1, 0.1, 0.001, 1e-7)


def test_compiled_adam_and_activation_gradient_give_the_same_floats_on_every_isa():
    """The elementwise passes are compiled per ISA (vectorised 4, 8 or 16 wide): sqrt and division round
    correctly at every width and nothing is contracted, so every variant gives the scalar loop's floats."""
    from keraslite.runtime import native

    lib = native.lib()
    assert lib is not None, "the compiled kernels are not built: reinstall with a C compiler present"
    best = lib.isa()
    rng = np.random.default_rng(11)
    n = 70_001  # 3 chunks, and a tail shorter than every vector
    start = [rng.normal(size=n).astype("float32") for _ in range(5)]
    start[2], start[3] = np.abs(start[2]), np.abs(start[3]) * 0.5  # v, vhat
    grads = [rng.normal(size=n).astype("float32") for _ in range(3)]
    y = np.maximum(rng.normal(size=(n // 7, 7)).astype("float32"), 0)
    results = {}
    try:
        for name in ("base", "avx2", "avx512"):
            if not lib._select_isa(name):
                continue
            w, m, v, vhat, w2 = [a.copy() for a in start]
            for g in grads:
                lib.adam(g, w, m, v, vhat, 1e-3, 0.1, 0.001, 1e-7)
                lib.adam(g, w2, m, v, None, 1e-3, 0.1, 0.001, 1e-7)
            out, sums = np.empty_like(y), np.empty(7, np.float32)
            lib.act_grad(grads[0][:y.size].reshape(y.shape), y, out, native.ACT["relu"], sums)
            results[name] = (w, m, v, vhat, w2, out, sums)
    finally:
        lib._select_isa(best)
    assert "base" in results and len(results) >= 2 or best == "base"
    for name, arrays in results.items():
        for got, want in zip(arrays, results["base"]):
            np.testing.assert_array_equal(got, want, err_msg=name)


def test_compiled_adam_reads_each_steps_coefficients_once_for_all_its_variables():
    from keraslite.train.optimizers.kernels import adam as A

    rule = kernels.get("adam", True)
    assert rule.__name__ == "_adam_compiled"
    rng = np.random.default_rng(5)
    sizes = (1000, 37, 5000)
    state = [[rng.normal(size=n).astype("float32") for _ in range(3)] + [None] for n in sizes]
    for s in state:
        s[2] = np.abs(s[2])
    ref = [[a if a is None else a.copy() for a in s] for s in state]
    for step in range(1, 5):  # a fresh coefficient array per step (as Optimizer._update_batch makes), shared
        c = np.array([1e-3 * step, step, 0.9, 0.999, 0.1, 0.001, 1e-7, 0.0], np.float32)
        for s, r in zip(state, ref):
            g = rng.normal(size=s[0].size).astype("float32")
            rule(g, c, *s)
            A._adam_np(g, c, *r)
    for s, r in zip(state, ref):
        for got, want in zip(s[:3], r[:3]):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_a_large_adam_fit_does_not_import_numba():
    out = run_fresh("""
import sys, numpy as np, keraslite as keras
model = keras.Sequential([keras.Input((300,)), keras.layers.Dense(256), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(np.ones((64, 300), "float32"), np.ones((64, 1), "float32"), epochs=1, verbose=0)
print("numba" in sys.modules, model.optimizer._rule.__name__)
""")
    assert out == ["False", "_adam_compiled"]
