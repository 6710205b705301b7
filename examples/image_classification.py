"""The Keras image classification tutorial (flowers) end to end on keraslite, with the tutorial's calls.

    python examples/image_classification.py [DIR] [--epochs 15] [--image-size 64] [--per-class N] [--out OUT]
                                            [--no-augmentation]

DIR is a folder of class sub-folders of images (flower_photos/daisy/*.jpg, ...). Without DIR the script writes an
image set itself into OUT/images: the 8x8 digits that ship with keraslite, upscaled and colored, as JPEGs in one
folder per digit. It trains the tutorial's CNN, then (unless --no-augmentation) the same CNN with
RandomFlip/RandomRotation/RandomZoom augmentation and Dropout, prints both accuracies, saves the training curves as
PNG if matplotlib is installed, and classifies one new image file with softmax(predict(...)).
"""
import argparse
import os

import numpy as np

import keraslite as keras
from keraslite import layers


def write_images(folder, image_size, per_class, seed):
    """The shipped 8x8 digits as colored JPEGs (one folder per digit), plus one held-out image; returns its path."""
    rng = np.random.RandomState(seed)
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    images, labels = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    counts = {}
    for img, label in zip(images[:-1], labels[:-1]):
        if counts.get(int(label), 0) >= per_class:
            continue
        counts[int(label)] = counts.get(int(label), 0) + 1
        path = os.path.join(folder, str(label), f"{counts[int(label)]:04d}.jpg")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _colored(img, image_size, rng).save(path, quality=90)
    new_path = os.path.join(os.path.dirname(folder), f"new_digit_{labels[-1]}.jpg")
    _colored(images[-1], image_size, rng).save(new_path, quality=90)
    return new_path


def _colored(img, size, rng):
    from PIL import Image

    gray = Image.fromarray((np.asarray(img, np.float32) * (255 / 16)).astype(np.uint8)).resize((size, size),
                                                                                              Image.BICUBIC)
    ink = np.asarray(gray, np.float32)[..., None] / 255
    background, color = rng.uniform(0, 120, 3), rng.uniform(150, 255, 3)
    pixels = background * (1 - ink) + color * ink + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def save_plots(history, out, tag):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots")
        return
    h = history.history
    epochs_range = range(len(h["loss"]))
    plt.figure(figsize=(8, 4))
    for i, metric in enumerate(("accuracy", "loss")):
        plt.subplot(1, 2, i + 1)
        plt.plot(epochs_range, h[metric], label=f"Training {metric.capitalize()}")
        plt.plot(epochs_range, h[f"val_{metric}"], label=f"Validation {metric.capitalize()}")
        plt.legend(loc="lower right" if metric == "accuracy" else "upper right")
        plt.title(f"Training and Validation {metric.capitalize()}")
    path = os.path.join(out, f"history_{tag}.png")
    plt.savefig(path)
    plt.close()
    print(f"saved {path}")


def cnn(num_classes, img_height, img_width, augmentation=None):
    """The tutorial's model; with ``augmentation``, the augmented one with Dropout."""
    if augmentation is None:
        head = [layers.Rescaling(1.0 / 255, input_shape=(img_height, img_width, 3))]
    else:
        head = [augmentation, layers.Rescaling(1.0 / 255)]
    body = [layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D()]
    tail = ([layers.Dropout(0.2)] if augmentation is not None else []) + [
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(num_classes, name="outputs")]
    model = keras.Sequential(head + body + tail)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", help="folder of class sub-folders of images")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--image-size", type=int, default=None, help="default 180 with DIR, 64 for the digits")
    parser.add_argument("--per-class", type=int, default=200, help="generated images per class (without DIR)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--no-augmentation", action="store_true", help="train only the first model")
    parser.add_argument("--out", default="image_classification_out")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(123)
    img_height = img_width = args.image_size or (180 if args.dir else 64)
    data_dir, new_image = args.dir, None
    if data_dir is None:
        data_dir = os.path.join(args.out, "images")
        new_image = write_images(data_dir, img_height, args.per_class, seed=123)

    train_ds = keras.utils.image_dataset_from_directory(data_dir, validation_split=0.2, subset="training", seed=123,
                                                        image_size=(img_height, img_width),
                                                        batch_size=args.batch_size)
    val_ds = keras.utils.image_dataset_from_directory(data_dir, validation_split=0.2, subset="validation", seed=123,
                                                      image_size=(img_height, img_width), batch_size=args.batch_size)
    class_names = train_ds.class_names
    print("classes:", class_names)
    for image_batch, labels_batch in train_ds.take(1):
        print("batch:", image_batch.shape, labels_batch.shape, "first label:", class_names[labels_batch[0]])

    AUTOTUNE = keras.data.AUTOTUNE
    train_ds = train_ds.cache().shuffle(1000).prefetch(buffer_size=AUTOTUNE)
    val_ds = val_ds.cache().prefetch(buffer_size=AUTOTUNE)
    num_classes = len(class_names)

    model = cnn(num_classes, img_height, img_width)
    model.summary()
    history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)
    print(f"without augmentation: val_accuracy {history.history['val_accuracy'][-1]:.4f}")
    save_plots(history, args.out, "plain")

    if not args.no_augmentation:
        data_augmentation = keras.Sequential([
            layers.RandomFlip("horizontal", input_shape=(img_height, img_width, 3)),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
        ])
        model = cnn(num_classes, img_height, img_width, augmentation=data_augmentation)
        history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)
        print(f"with augmentation and dropout: val_accuracy {history.history['val_accuracy'][-1]:.4f}")
        save_plots(history, args.out, "augmented")

    model.save(os.path.join(args.out, "image_model.keras"))
    if new_image is None:
        new_image = sorted(os.path.join(r, f) for r, _, fs in os.walk(data_dir) for f in fs)[0]
    img = keras.utils.load_img(new_image, target_size=(img_height, img_width))
    img_array = keras.utils.img_to_array(img)
    img_array = keras.ops.expand_dims(img_array, 0)  # Create a batch
    predictions = model.predict(img_array, verbose=0)
    score = keras.ops.softmax(predictions[0])
    print(f"{os.path.basename(new_image)}: this image most likely belongs to {class_names[int(np.argmax(score))]} "
          f"with a {100 * float(np.max(score)):.2f} percent confidence.")


if __name__ == "__main__":
    main()
