"""``text_dataset_from_directory``: Keras' arguments, file order and seeded split, as a keraslite Dataset of
``(texts, labels)`` batches; texts are UTF-8 bytes (``tf.string``), cut to ``max_length`` bytes."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from . import directory as D
from .dataset import AUTOTUNE, Dataset


def read_text(path: str, max_length=None) -> np.ndarray:
    """A text file's contents as a 0-d object array of bytes; a file that is not UTF-8 is refused by name."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise KerasliteError(f"Cannot read text file {path!r}: {exc.strerror or exc}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KerasliteError(f"Text file {path!r} is not UTF-8 ({exc.reason} at byte {exc.start}); the text "
                             "loaders read UTF-8: re-encode the file (e.g. iconv -f latin1 -t utf-8)") from None
    out = np.empty((), dtype=object)
    out[()] = data if max_length is None else data[:max_length]
    return out


def _dataset(paths, labels, label_mode, num_classes, max_length, shuffle, buffer, seed, batch_size):
    ds = D.path_dataset(paths, labels, label_mode, num_classes, shuffle, buffer, seed)
    if label_mode:
        ds = ds.map(lambda p, y: (read_text(p.item().decode(), max_length), y), num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda p: read_text(p.item().decode(), max_length), num_parallel_calls=AUTOTUNE)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds.prefetch(AUTOTUNE)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A Dataset of text batches (and labels) from a folder of class sub-folders of ``.txt`` files, as Keras'.

    Returns:
        A Dataset yielding ``(texts, labels)`` (``texts`` a 1-D object array of bytes per batch), or
        ``[train, validation]`` with ``subset="both"``; ``.class_names`` (and ``.file_paths``) are set.

    Example::

        raw_train = text_dataset_from_directory("aclImdb/train", batch_size=32, validation_split=0.2,
                                                subset="training", seed=42)
    """
    D.check_labels_arg(labels, class_names, label_mode, "text")
    if format not in ("tf", "grain"):
        raise KerasliteError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    D.check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = D.index_directory(directory, labels, formats=(".txt",), class_names=class_names,
                                                   shuffle=shuffle, seed=seed, follow_links=follow_links,
                                                   verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise KerasliteError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                             f"class_names={class_names}")
    buffer = batch_size * 8 if batch_size is not None else 1024
    num_classes = len(class_names) if class_names else 0
    hint = "" if labels is None or class_names else (" (with labels='inferred' the files must sit in class "
                                                     "sub-folders, e.g. DIR/pos/1.txt; none were found)")
    parts = []
    for name in ("training", "validation") if subset == "both" else (None,):
        part_paths, part_labels = D.training_or_validation_split(paths, labels, validation_split, name or subset)
        if not part_paths:
            which = f"No {name} text files" if name else "No text files"
            raise KerasliteError(f"{which} found in directory {directory}. Allowed format: .txt{hint}")
        ds = _dataset(part_paths, part_labels, label_mode, num_classes, max_length,
                      shuffle and not (subset == "both" and name == "validation"), buffer, seed, batch_size)
        ds.class_names, ds.file_paths = class_names, list(part_paths)
        parts.append(ds)
    return parts if subset == "both" else parts[0]


__all__ = ["text_dataset_from_directory", "read_text"]
