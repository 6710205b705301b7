"""Bad input to compile/fit/evaluate raises keraslite errors that name the argument, what was expected and what
was found, never a numpy broadcasting error from deep inside."""
import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import InputError, KerasliteError


def model(loss="sparse_categorical_crossentropy", metrics=("accuracy",), classes=3):
    m = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(5,)),
                          keras.layers.Dense(classes, activation="softmax")])
    m.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return m


X = np.random.default_rng(0).normal(size=(20, 5)).astype("float32")
Y = np.arange(20) % 3


def test_x_and_y_of_different_lengths():
    with pytest.raises(KerasliteError, match=r"Data cardinality is ambiguous.*x: \[20\].*y: \[19\]"):
        model().fit(X, Y[:19], verbose=0)


def test_label_out_of_range_for_a_sparse_loss():
    with pytest.raises(KerasliteError, match=r"label 7 is out of range for 3 classes \(expected 0\.\.2\)"):
        model().fit(X, np.full(20, 7), verbose=0)


def test_wrong_input_shape():
    with pytest.raises(InputError, match=r"expected shape=\(None, 5\), found shape=\(20, 4\)"):
        model().fit(X[:, :4], Y, verbose=0)
    with pytest.raises(InputError, match=r"expected shape=\(None, 5\)"):
        model().predict(np.zeros((2, 6)), verbose=0)


@pytest.mark.parametrize("kwargs, text", [
    ({"loss": "mean_sqared_error"}, "loss identifier: 'mean_sqared_error'. Did you mean 'mean_squared_error'\\? Known loss names: "),
    ({"optimizer": "adma"}, "optimizer identifier: 'adma'.*adam"),
])
def test_unknown_names_list_the_known_ones(kwargs, text):
    m = keras.Sequential([keras.layers.Dense(1, input_shape=(5,))])
    with pytest.raises(KerasliteError, match=text):
        m.compile(**{"optimizer": "sgd", "loss": "mse", **kwargs})


def test_unknown_metric_name():
    m = model(metrics=["acuracy"])
    with pytest.raises(KerasliteError, match=r"acuracy.*accuracy"):
        m.fit(X, Y, verbose=0)


def test_class_weight_for_a_class_that_does_not_exist():
    with pytest.raises(KerasliteError, match=r"`class_weight` names class\(es\) \[5\] that do not exist: the model's "
                                             r"output has 3 classes"):
        model().fit(X, Y, class_weight={0: 1.0, 5: 2.0}, verbose=0)


def test_validation_split_on_a_generator():
    def batches():
        while True:
            yield X[:4], Y[:4]

    with pytest.raises(KerasliteError, match=r"`validation_split` is only supported for Tensors or NumPy arrays"):
        model().fit(batches(), steps_per_epoch=2, validation_split=0.2, verbose=0)


def test_keras1_argument_names_are_refused_with_the_new_name():
    with pytest.raises(KerasliteError, match=r"`nb_epoch`; it is called `epochs` now"):
        model().fit(X, Y, nb_epoch=3)


def test_fit_before_compile():
    m = keras.Sequential([keras.layers.Dense(1, input_shape=(5,))])
    with pytest.raises(KerasliteError, match=r"You must call `compile\(\)`"):
        m.fit(X, Y)


def test_bad_epochs_and_batch_size():
    with pytest.raises(KerasliteError, match=r"`epochs` must be a positive integer, got 2.5"):
        model().fit(X, Y, epochs=2.5)
    with pytest.raises(KerasliteError, match=r"`batch_size` must be a positive integer, got 0"):
        model().fit(X, Y, batch_size=0)


def test_non_numeric_data():
    with pytest.raises(KerasliteError, match=r"`x` holds Python objects"):
        model().fit(np.array([[1, 2], [3]], dtype=object), Y[:2], verbose=0)


def test_multi_output_targets_by_unknown_name():
    a = keras.Input(shape=(5,))
    m = keras.Model(a, [keras.layers.Dense(1, name="p")(a), keras.layers.Dense(2, name="q")(a)])
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(KerasliteError, match=r"`y` has key\(s\) \['r'\] that are not model outputs; outputs are "
                                             r"\['p', 'q'\]"):
        m.fit(X, {"p": Y, "r": Y}, verbose=0)
