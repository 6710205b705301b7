"""Write models with data preprocessing layers, made and trained by keraslite, into a folder for the real-Keras
check (a tool, not a test):

    /work/venvs/data/bin/python tests/format/write_data_check_dir.py OUT_DIR
    /work/venvs/tf/bin/python tests/fixtures/make_keras_fixtures.py --check OUT_DIR

Text models (TextVectorization int / tf_idf / multi_hot with bigrams, StringLookup, IntegerLookup +
CategoryEncoding, Hashing) are written as ``.keras`` (vocabulary as archive assets, expected in Keras 3) and as a
portable ``.h5`` (vocabulary inline in the config, expected in tf_keras and Keras 3; the tf_idf one as a Keras 3
``.h5``); the image model (Rescaling, Resizing, CenterCrop) as ``.keras`` and as a portable ``.h5``. Each npz holds the inputs and
keraslite.runtime's outputs, which real Keras must reproduce.
"""
import json
import os
import sys

import numpy as np

import keraslite as keras
from keraslite import runtime

L = keras.layers
TEXTS = np.array(["a great film with a great cast", "boring and slow, a waste", "loved it!", "the plot was dull",
                  "great acting; great music", "worst film ever", "fun fun fun", "an unseen word here"])
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0], "float32")


def text_models():
    keras.utils.set_random_seed(5)
    out = {}
    tv = L.TextVectorization(max_tokens=30, output_sequence_length=7)
    tv.adapt(TEXTS)
    m = keras.Sequential([keras.Input(shape=(1,), dtype="string", name="review"), tv, L.Embedding(30, 4),
                          L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")], name="tv_int")
    m.compile(optimizer="adam", loss="binary_crossentropy")
    m.fit(TEXTS[:, None], LABELS, epochs=2, batch_size=4, verbose=0)
    out["tv_int"] = (m, TEXTS[:, None])
    tfidf = L.TextVectorization(max_tokens=20, output_mode="tf_idf", pad_to_max_tokens=True)
    tfidf.adapt(TEXTS)
    out["tv_tfidf"] = (keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), tfidf, L.Dense(2)],
                                        name="tv_tfidf"), TEXTS)
    bigrams = L.TextVectorization(max_tokens=40, output_mode="multi_hot", ngrams=2, standardize="lower")
    bigrams.adapt(TEXTS)
    out["tv_bigrams"] = (keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), bigrams,
                                           L.Dense(3)], name="tv_bigrams"), TEXTS)
    colors = np.array([["red"], ["green"], ["blue"], ["green"], ["teal"]])
    sl = L.StringLookup(num_oov_indices=2, output_mode="one_hot")
    sl.adapt(colors[:4])
    out["string_lookup"] = (keras.Sequential([keras.Input(shape=(1,), dtype="string", name="color"), sl,
                                              L.Dense(2)], name="string_lookup"), colors)
    ints = np.array([[3, 7, 7], [12, 3, 99], [7, 7, 7]])
    il = L.IntegerLookup(max_tokens=5)
    il.adapt(ints)
    inp = keras.Input(shape=(3,), dtype="int64", name="ids")
    encoded = L.CategoryEncoding(num_tokens=5, output_mode="count")(il(inp))
    out["int_lookup"] = (keras.Model(inp, L.Dense(2)(encoded), name="int_lookup"), ints)
    inp = keras.Input(shape=(2,), dtype="string", name="words")
    hashed = L.Hashing(num_bins=8, salt=7)(inp)
    out["hashing"] = (keras.Model(inp, L.Dense(1)(L.Flatten()(L.Embedding(8, 3)(hashed))), name="hashing"),
                      np.array([["a", "b"], ["film", "great"], ["zz", "a"]]))
    return out


def image_model():
    keras.utils.set_random_seed(6)
    m = keras.Sequential([keras.Input(shape=(30, 26, 3), name="pixels"), L.Rescaling(1 / 255.0),
                          L.Resizing(20, 16, interpolation="bicubic"), L.CenterCrop(14, 12),
                          L.Conv2D(3, 3, activation="relu"), L.GlobalAveragePooling2D(), L.Dense(2)],
                         name="image_layers")
    return m, np.random.RandomState(0).uniform(0, 255, (2, 30, 26, 3)).astype("float32")


def main(folder):
    os.makedirs(folder, exist_ok=True)
    entries = []
    for name, (model, x) in text_models().items():
        forms = [("keras", {}, ["keras3"]), ("h5", {}, ["keras2", "keras3"])]
        if name == "tv_tfidf":  # portable .h5 is refused for tf_idf (see format/vocabulary.py)
            forms[1] = ("h5", {"dialect": "keras3"}, ["keras3"])
        for ext, kwargs, expect in forms:
            file = f"{name}.{ext}"
            model.save(os.path.join(folder, file), **kwargs)
            y = runtime.load(os.path.join(folder, file)).predict(x)
            np.savez(os.path.join(folder, f"{name}.{ext}.npz"), x0=x, y0=y)
            entries.append({"file": file, "weights": None, "data": f"{name}.{ext}.npz", "expect": expect,
                            "compiled": False})
    model, x = image_model()
    for ext, expect in (("keras", ["keras3"]), ("h5", ["keras2", "keras3"])):
        file = f"image_layers.{ext}"
        model.save(os.path.join(folder, file))
        np.savez(os.path.join(folder, f"{file}.npz"), x0=x, y0=runtime.load(os.path.join(folder, file)).predict(x))
        entries.append({"file": file, "weights": None, "data": f"{file}.npz", "expect": expect, "compiled": False})
    with open(os.path.join(folder, "check.json"), "w") as fh:
        json.dump(entries, fh, indent=1)
    print(f"wrote {len(entries)} check entries to {folder}")


if __name__ == "__main__":
    main(sys.argv[1])
