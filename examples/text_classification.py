"""The Keras text classification tutorial (movie reviews) end to end on keraslite, with the tutorial's calls.

    python examples/text_classification.py [DIR] [--epochs 10] [--reviews 1000] [--out OUT]

DIR is a folder laid out like aclImdb: DIR/train/{pos,neg}/*.txt and DIR/test/{pos,neg}/*.txt. Without DIR the
script writes a corpus of generated reviews (``--reviews`` per class and split) into OUT/reviews first. It trains
Embedding -> Dropout -> GlobalAveragePooling1D -> Dropout -> Dense(1) on TextVectorization's integer sequences,
evaluates on the test folder, saves OUT/review_model.keras (vectorizer inside, so it takes raw strings), saves
the accuracy/loss curves as PNG if matplotlib is installed, and prints the curl that classifies a sentence with
``keraslite serve``.
"""
import argparse
import os
import random

import numpy as np

import keraslite as keras
from keraslite import layers, losses

POSITIVE = "great wonderful loved amazing brilliant enjoyable superb excellent beautiful fantastic moving".split()
NEGATIVE = "terrible awful boring hated worst dull bad poor waste disappointing predictable".split()
NEUTRAL = ("the a this movie film plot actors story scene director music ending and was it really very of to in "
           "with but so").split()


def write_reviews(folder, per_class, seed):
    """A small aclImdb-like corpus: mostly neutral words, sentiment words mostly (not only) of the review's class."""
    rng = random.Random(seed)
    for split, count in (("train", per_class), ("test", max(per_class // 2, 10))):
        for label, own, other in (("pos", POSITIVE, NEGATIVE), ("neg", NEGATIVE, POSITIVE)):
            os.makedirs(os.path.join(folder, split, label), exist_ok=True)
            for i in range(count):
                words = [rng.choice(NEUTRAL) for _ in range(rng.randint(40, 120))]
                for _ in range(rng.randint(4, 12)):
                    words.insert(rng.randrange(len(words)), rng.choice(own if rng.random() < 0.8 else other))
                text = " ".join(words).capitalize() + rng.choice([".", "!", " <br /><br />", "..."])
                with open(os.path.join(folder, split, label, f"{i}_{rng.randint(1, 10)}.txt"), "w") as fh:
                    fh.write(text)


def save_plots(history, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots")
        return
    h = history.history
    epochs = range(1, len(h["loss"]) + 1)
    for metric in ("loss", "binary_accuracy"):
        plt.figure()
        plt.plot(epochs, h[metric], "bo", label=f"Training {metric}")
        plt.plot(epochs, h[f"val_{metric}"], "b", label=f"Validation {metric}")
        plt.xlabel("Epochs")
        plt.legend()
        plt.savefig(os.path.join(out, f"text_{metric}.png"))
        plt.close()
    print(f"saved {out}/text_loss.png and {out}/text_binary_accuracy.png")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", help="aclImdb-like folder (train/ and test/ with pos/ and neg/)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--reviews", type=int, default=1000, help="generated reviews per class (without DIR)")
    parser.add_argument("--max-features", type=int, default=10000)
    parser.add_argument("--sequence-length", type=int, default=250)
    parser.add_argument("--out", default="text_classification_out")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(42)
    data_dir = args.dir
    if data_dir is None:
        data_dir = os.path.join(args.out, "reviews")
        write_reviews(data_dir, args.reviews, seed=42)

    batch_size, seed = 32, 42
    raw_train_ds = keras.utils.text_dataset_from_directory(os.path.join(data_dir, "train"), batch_size=batch_size,
                                                           validation_split=0.2, subset="training", seed=seed)
    raw_val_ds = keras.utils.text_dataset_from_directory(os.path.join(data_dir, "train"), batch_size=batch_size,
                                                         validation_split=0.2, subset="validation", seed=seed)
    raw_test_ds = keras.utils.text_dataset_from_directory(os.path.join(data_dir, "test"), batch_size=batch_size)
    for text_batch, label_batch in raw_train_ds.take(1):
        print("Review", text_batch.numpy()[0][:80], "Label", raw_train_ds.class_names[label_batch.numpy()[0]])

    # The tutorial strips "<br />" with tf.strings in a custom standardize; the built-in one (lowercase, strip
    # punctuation) keeps the model savable: a file cannot hold a Python function.
    vectorize_layer = layers.TextVectorization(max_tokens=args.max_features, output_mode="int",
                                               output_sequence_length=args.sequence_length)
    train_text = raw_train_ds.map(lambda x, y: x)
    vectorize_layer.adapt(train_text)
    print("Vocabulary size:", len(vectorize_layer.get_vocabulary()), "first terms:",
          vectorize_layer.get_vocabulary()[:8])

    def vectorize_text(text, label):
        text = keras.ops.expand_dims(text, -1)
        return vectorize_layer(text), label

    AUTOTUNE = keras.data.AUTOTUNE
    train_ds = raw_train_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)
    val_ds = raw_val_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)
    test_ds = raw_test_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)

    model = keras.Sequential([
        layers.Embedding(args.max_features, 16),
        layers.Dropout(0.2),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.2),
        layers.Dense(1)])
    model.compile(loss=losses.BinaryCrossentropy(from_logits=True), optimizer="adam",
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)
    loss, accuracy = model.evaluate(test_ds, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    save_plots(history, args.out)

    export_model = keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), vectorize_layer, model,
                                     layers.Activation("sigmoid")], name="review_model")
    export_model.compile(loss=losses.BinaryCrossentropy(from_logits=False), optimizer="adam",
                         metrics=["accuracy"])
    _, raw_accuracy = export_model.evaluate(raw_test_ds, verbose=0)
    print(f"raw-text test accuracy {raw_accuracy:.4f}")
    examples = keras.ops.convert_to_tensor(["The movie was great!", "The movie was okay.",
                                            "The movie was terrible..."])
    print("predictions:", [round(float(p), 3) for p in np.asarray(export_model.predict(examples, verbose=0))[:, 0]])
    path = os.path.join(args.out, "review_model.keras")
    export_model.save(path)
    print(f"saved {path}; serve it and classify a sentence:")
    print(f"  keraslite serve {path}")
    print("  curl -s -d '{\"instances\": [\"this movie was great\"]}' "
          "http://127.0.0.1:8501/v1/models/review_model:predict")


if __name__ == "__main__":
    main()
