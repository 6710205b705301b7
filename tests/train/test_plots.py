"""utils.model_to_dot / plot_model (pydot + Graphviz) and plot_history (matplotlib), and their CLI commands.

Rendering needs Graphviz's ``dot``; .ci/run installs it, and its absence fails these tests (it is not a skip).
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keraslite as keras
from keraslite.cli import main as cli
from keraslite.errors import KerasliteError

FIXTURES = Path(__file__).parent.parent / "fixtures"
L = keras.layers


def _need_dot():
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's `dot` is missing: apt-get install graphviz (brew install graphviz on macOS)")


def _two_input_model():
    a, b = keras.Input((8, 8, 1), name="image"), keras.Input((4,), name="meta")
    x = L.Flatten(name="flat")(L.Conv2D(4, 3, activation="relu", name="conv")(a))
    x = L.Concatenate(name="join")([x, L.Dense(12, name="meta_dense")(b)])
    inner = keras.Sequential([keras.Input((156,)), L.Dense(8, activation="relu", name="in1"),
                              L.Dense(8, name="in2")], name="block")
    out = L.Dense(3, activation="softmax", name="probs")(inner(x))
    model = keras.Model([a, b], out, name="two_inputs")
    model.get_layer("meta_dense").trainable = False
    return model


def _graph(dot):
    """{node name: label} and the set of (source name, target name) edges of a pydot graph, clusters included."""
    labels, names, edges = {}, {}, set()

    def walk(graph):
        for node in graph.get_nodes():
            label = node.get("label") or ""
            title = re.search(r"<b>([^<]+)</b>", label)
            if title:
                names[node.get_name()] = title.group(1)
                labels[title.group(1)] = label
        for edge in graph.get_edges():
            edges.add((edge.get_source(), edge.get_destination()))
        for sub in graph.get_subgraphs():
            walk(sub)

    walk(dot)
    return labels, {(names[s], names[d]) for s, d in edges}


def test_model_to_dot_has_a_box_per_layer_and_the_calls_as_edges():
    dot = keras.utils.model_to_dot(_two_input_model(), show_shapes=True, show_dtype=True,
                                   show_layer_activations=True, show_trainable=True)
    labels, edges = _graph(dot)
    assert set(labels) == {"image", "meta", "conv", "flat", "meta_dense", "join", "block", "probs"}
    assert edges == {("image", "conv"), ("conv", "flat"), ("meta", "meta_dense"), ("flat", "join"),
                     ("meta_dense", "join"), ("join", "block"), ("block", "probs")}
    assert "Input shape: <b>[(None, 144), (None, 12)]</b>" in labels["join"]
    assert "Output shape: <b>(None, 6, 6, 4)</b>" in labels["conv"] and "Activation: <b>relu</b>" in labels["conv"]
    assert "Input shape" not in labels["image"] and "Output shape: <b>(None, 8, 8, 1)</b>" in labels["image"]
    assert "Output dtype: <b>float32</b>" in labels["probs"]
    assert "Non-trainable" in labels["meta_dense"] and "forestgreen" in labels["conv"]
    assert "Trainable" not in labels["flat"]  # no weights, no trainable cell (as Keras)
    assert dot.get("rankdir") == "TB" and dot.get("splines") == "ortho"


def test_expand_nested_draws_the_inner_model_as_a_cluster():
    dot = keras.utils.model_to_dot(_two_input_model(), expand_nested=True, show_layer_names=True)
    labels, edges = _graph(dot)
    assert "block" not in labels and {"in1", "in2"} <= set(labels)
    assert {("join", "in1"), ("in1", "in2"), ("in2", "probs")} <= edges
    assert [s.get("label") for s in dot.get_subgraphs()] == ["block"]
    assert dot.get("splines") == "spline"


def test_sequential_chain_hidden_names_and_a_subclassed_model():
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, name="a"), L.Dropout(0.1, name="b"), L.Dense(2, name="c")])
    labels, edges = _graph(keras.utils.model_to_dot(model, rankdir="LR"))
    assert edges == {("a", "b"), ("b", "c")}
    hidden, _ = _graph(keras.utils.model_to_dot(model, show_layer_names=False))
    assert set(hidden) == {"Dense", "Dropout"}

    class Tiny(keras.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)

    tiny = Tiny()
    tiny(np.zeros((1, 3), "float32"))
    labels, edges = _graph(keras.utils.model_to_dot(tiny))
    assert list(labels) == ["tiny"] and not edges


def test_errors_name_the_fix(tmp_path, monkeypatch):
    unbuilt = keras.Sequential([L.Dense(2)])
    with pytest.raises(KerasliteError, match="has not yet been built"):
        keras.utils.model_to_dot(unbuilt)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    with pytest.raises(KerasliteError, match="rankdir must be 'TB', 'LR', 'BT' or 'RL', got 'XY'"):
        keras.utils.model_to_dot(model, rankdir="XY")
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz here
    with pytest.raises(KerasliteError) as info:
        keras.utils.plot_model(model, tmp_path / "m.png")
    assert "apt-get install graphviz" in str(info.value) and "brew install graphviz" in str(info.value)
    keras.utils.plot_model(model, tmp_path / "m.dot")  # the DOT text needs no Graphviz
    assert (tmp_path / "m.dot").read_text().startswith("digraph")


def test_plot_model_draws_png_and_svg(tmp_path):
    _need_dot()
    model = _two_input_model()
    keras.utils.plot_model(model, tmp_path / "model.png", show_shapes=True, dpi=48)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = keras.utils.model_to_dot(model, show_shapes=True).create(prog="dot", format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "meta_dense" in svg and "(None, 156)" in svg


def test_cli_plot_model_reads_any_keras_file(tmp_path, capsys):
    _need_dot()
    for source in (FIXTURES / "keras3" / "merge_multi.keras", FIXTURES / "keras2" / "nested.h5"):
        out = tmp_path / f"{source.stem}.svg"
        assert cli(["plot-model", str(source), str(out), "--show-shapes", "--expand-nested"]) == 0
        text = out.read_text()
        assert "<svg" in text
    assert "head_a" in (tmp_path / "merge_multi.svg").read_text()
    assert "block_bn" in (tmp_path / "nested.svg").read_text()  # inside the expanded nested model
    assert cli(["plot-model", str(tmp_path / "missing.h5"), str(tmp_path / "x.png")]) == 1
    assert "missing.h5" in capsys.readouterr().err


@pytest.fixture(scope="module")
def training_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "training.log"
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    history = model.fit(rng.normal(size=(60, 4)).astype("float32"), rng.integers(0, 3, 60), epochs=4,
                        validation_split=0.25, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(path))])
    return path, history.history


def test_plot_history_draws_train_and_validation_curves(training_log, tmp_path):
    from keraslite.train.history_plot import plot_history

    path, history = training_log
    figure = plot_history(str(path), tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    panels = {ax.get_title(): ax for ax in figure.axes}
    assert list(panels) == ["loss", "accuracy"]
    for name, ax in panels.items():
        train, val = ax.get_lines()
        assert [l.get_label() for l in ax.get_lines()] == ["training", "validation"]
        assert list(train.get_xdata()) == [1, 2, 3, 4]
        np.testing.assert_allclose(train.get_ydata(), history[name], rtol=1e-6)
        np.testing.assert_allclose(val.get_ydata(), history[f"val_{name}"], rtol=1e-6)


def test_cli_plot_history_and_a_bad_log(training_log, tmp_path, capsys):
    path, _ = training_log
    assert cli(["plot-history", str(path), str(tmp_path / "h.svg")]) == 0
    assert "<svg" in (tmp_path / "h.svg").read_text()
    bad = tmp_path / "bad.log"
    bad.write_text("a,b\n1,2\n")
    assert cli(["plot-history", str(bad), str(tmp_path / "x.png")]) == 1
    assert "is not a CSVLogger log: its first line must be a header starting with 'epoch'" in capsys.readouterr().err


def test_cli_help_lists_the_plot_commands():
    proc = subprocess.run([sys.executable, "-m", "keraslite", "--help"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), timeout=60)
    assert "plot-model" in proc.stdout and "plot-history" in proc.stdout
