"""Run an example script of examples/ with real Keras 3 in place of keraslite: the same script logic on the same
data, for the accuracies recorded in bench/RESULTS.md. Run with the TensorFlow venv:

    /work/venvs/tf/bin/python bench/example_parity.py examples/text_classification.py DIR [args...]

``import keraslite as keras`` then gives Keras 3 (TensorFlow backend) and ``keras.data`` gives tf.data; pass the
folder the keraslite run wrote (OUT/reviews, OUT/images) as DIR so both train on the same files.
"""
import os
import runpy
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def main():
    import keras
    import tensorflow as tf

    shim = types.ModuleType("keraslite")
    shim.__getattr__ = lambda name: tf.data if name == "data" else getattr(keras, name)
    sys.modules["keraslite"] = shim
    script, args = sys.argv[1], sys.argv[2:]
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
