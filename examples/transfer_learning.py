"""Transfer learning as Keras' guide does it: a pretrained application as a frozen base, a new head trained with
``fit``, then the whole model fine-tuned with a small learning rate, saved and served by keraslite.runtime.

    python examples/transfer_learning.py OUT_DIR [--weights vgg16_notop.h5] [--arch VGG16] [--size 32]
        [--samples 1437] [--test-samples 360] [--epochs 5] [--fine-tune-epochs 2] [--learning-rate 1e-3]

The data are the 8x8 digits that ship with keraslite (``keraslite.datasets.digits``), grown to ``--size`` pixels
and three channels. ``--weights`` is Keras' weight file of the base without its top (for VGG16
vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, what ``weights="imagenet"`` uses); keraslite downloads
nothing, so without it the base has random weights and the head learns from random features.
"""
import argparse
import os
import sys

import numpy as np

import keraslite as keras
from keraslite import runtime

ARCHS = {"VGG16": "vgg16", "VGG19": "vgg19", "ResNet50": "resnet50", "MobileNetV2": "mobilenet_v2",
         "MobileNetV3Small": "mobilenet_v3"}


def digits_as_images(size, samples):
    """Train and test digits as (n, size, size, 3) pictures in [0, 255], each pixel grown to a square."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    scale = -(-size // 8)

    def grow(x):
        x = np.kron(x.astype("float32") * (255.0 / 16.0), np.ones((1, scale, scale), "float32"))[:, :size, :size]
        return np.repeat(x[..., np.newaxis], 3, axis=-1)

    return (grow(x_train[:samples]), y_train[:samples]), (grow(x_test), y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder for the fine-tuned model (model.keras)")
    parser.add_argument("--weights", help="Keras' weight file of the base, without the top (default: random)")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="VGG16")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (at least 32)")
    parser.add_argument("--samples", type=int, default=1437, help="training images (at most 1437)")
    parser.add_argument("--test-samples", type=int, default=360, help="test images (at most 360)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the new head on the frozen base")
    parser.add_argument("--fine-tune-epochs", type=int, default=2, help="epochs of the whole model")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="Adam's rate for the head (random weights give small features: try 1e-2)")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    if args.weights is None:
        print(f"no --weights given: {args.arch} has random weights (keraslite downloads nothing), so the head "
              "learns from random features", file=sys.stderr)
    family = getattr(keras.applications, ARCHS[args.arch])

    (x_train, y_train), (x_test, y_test) = digits_as_images(args.size, args.samples)
    x_test, y_test = x_test[:args.test_samples], y_test[:args.test_samples]
    x_train, x_test = family.preprocess_input(x_train), family.preprocess_input(x_test)

    base = getattr(keras.applications, args.arch)(include_top=False, weights=args.weights,
                                                  input_shape=(args.size, args.size, 3))
    base.trainable = False  # freeze: fit updates only the new head
    inputs = keras.Input((args.size, args.size, 3))
    x = base(inputs, training=False)  # BatchNormalization keeps its statistics even once unfrozen
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    print(f"{args.arch} base: {len(base.weights)} weights frozen; head: {len(model.trainable_weights)} trainable")

    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.evaluate(x_train, y_train, verbose=0)[0]
    head = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
    after, accuracy = model.evaluate(x_train, y_train, verbose=0)[0], model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"head: train loss {before:.4f} -> {after:.4f} (epochs: "
          + ", ".join(f"{v:.4f}" for v in head.history["loss"]) + f"); test accuracy {accuracy:.3f}")

    base.trainable = True  # fine-tune everything, slowly, so the pretrained features are not wrecked
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    tuned = model.fit(x_train, y_train, epochs=args.fine_tune_epochs, batch_size=32, verbose=0)
    print(f"fine-tuning {len(model.trainable_weights)} weights: loss "
          + " -> ".join(f"{v:.4f}" for v in tuned.history["loss"])
          + f"; test accuracy {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.keras")
    model.save(path)
    served = runtime.load(path).predict(x_test[:16])  # the serving runtime: no training code, no TensorFlow
    diff = float(np.max(np.abs(served - model.predict(x_test[:16], verbose=0))))
    print(f"saved {path}; keraslite.runtime vs the trained model: largest difference {diff:.2e}")


if __name__ == "__main__":
    main()
