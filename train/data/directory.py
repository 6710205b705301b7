"""Folder indexing, the seeded shuffle and the training/validation split shared by the image and text loaders:
Keras' ``dataset_utils`` semantics, so the same folder, seed and split give the same files in the same order.

Files are listed class folder by class folder (class folders sorted, hidden ones skipped), each walked with
``os.walk`` sorted by folder path and by file name; with ``shuffle`` the list (and the labels) is shuffled once
with ``numpy.random.RandomState(seed)``; the validation subset is the last ``int(validation_split * n)`` files.
"""
from __future__ import annotations

import os
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ...errors import KerasliteError
from .dataset import Dataset


def check_validation_split_arg(validation_split, subset, shuffle, seed) -> None:
    """Keras' checks (and messages) for ``validation_split``, ``subset``, ``shuffle`` and ``seed``."""
    if validation_split and not 0 < validation_split < 1:
        raise KerasliteError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise KerasliteError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise KerasliteError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise KerasliteError("If using `validation_split` and shuffling the data, you must provide a `seed` "
                             "argument, to make sure that there is no overlap between the training and validation "
                             "subset.")


def check_labels_arg(labels, class_names, label_mode, what: str) -> None:
    """Keras' checks of ``labels``, ``class_names`` and ``label_mode``."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise KerasliteError(f"`labels` argument should be a list/tuple of integer labels, of the same size as the "
                                 f"number of {what} files in the target directory. If you wish to infer the labels "
                                 "from the subdirectory names in the target directory, pass `labels=\"inferred\"`. "
                                 f"If you wish to get a dataset that only contains {what}s (no labels), pass "
                                 f"`labels=None`. Received: labels={labels}")
        if class_names:
            raise KerasliteError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                                 f"and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise KerasliteError(f'`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                             f"Received: label_mode={label_mode}")


def _walk(directory: str, follow_links: bool, formats: Tuple[str, ...]) -> List[str]:
    """Files under ``directory`` with an allowed extension, in Keras' order (folders, then names, sorted)."""
    out = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                out.append(os.path.join(root, name))
    return out


def index_directory(directory, labels, formats: Tuple[str, ...], class_names: Optional[Sequence[str]] = None,
                    shuffle=True, seed=None, follow_links=False, verbose=True):
    """``(file_paths, labels, class_names)`` of a folder, as Keras' ``index_directory``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise KerasliteError(f"Could not find directory {directory}" if not os.path.exists(directory) else
                             f"{directory} is a file, not a directory of files")
    if labels == "inferred":
        try:
            entries = sorted(os.listdir(directory))
        except OSError as exc:
            raise KerasliteError(f"Cannot list directory {directory!r}: {exc.strerror or exc}") from None
        subdirs = [d for d in entries if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise KerasliteError(f"The `class_names` passed did not match the names of the subdirectories of the "
                                     f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                     f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            if labels is None:
                raise KerasliteError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise KerasliteError("When argument `labels` is specified, argument `class_names` cannot be specified "
                                 "(the `class_names` will be the sorted list of labels).")
    names = list(subdirs)
    paths: List[str] = []
    inferred: List[int] = []
    for index, sub in enumerate(subdirs):
        folder = os.path.join(directory, sub)
        found = _walk(folder, follow_links, formats)
        if labels == "inferred" and not found:
            warnings.warn(f"Class folder {folder!r} holds no files with the extensions {formats}: class {sub!r} "
                          f"(label {index}) has no examples", stacklevel=4)
        paths += found
        inferred += [index] * len(found)
    if labels == "inferred":
        label_array = np.asarray(inferred, dtype="int32")
    elif labels is None:
        label_array, names = None, None
    else:
        if len(labels) != len(paths):
            raise KerasliteError(f"Expected the lengths of `labels` to match the number of files in the target "
                                 f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
                                 f"directory {directory}.")
        label_array = np.asarray(labels)
        names = [str(label) for label in sorted(set(labels))]
    if verbose:
        if label_array is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return paths, label_array, names


def training_or_validation_split(samples, labels, validation_split, subset):
    """The ``subset`` part of ``samples`` (and ``labels``): validation is the last ``int(split * n)`` items."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - num_val} files for training.")
        return samples[:-num_val], None if labels is None else labels[:-num_val]
    if subset == "validation":
        print(f"Using {num_val} files for validation.")
        return samples[-num_val:], None if labels is None else labels[-num_val:]
    raise KerasliteError(f'`subset` must be either "training" or "validation", received: {subset}')


def encode_labels(labels: np.ndarray, label_mode: str, num_classes: int) -> np.ndarray:
    """Labels as Keras' loaders yield them: int32, float32 (n, 1) for binary, float32 one-hot for categorical."""
    if label_mode == "binary":
        return np.asarray(labels, np.float32)[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, np.int64)]
    return np.asarray(labels, np.int32)


def path_dataset(paths, labels, label_mode, num_classes, shuffle, buffer, seed) -> Dataset:
    """The files' paths (zipped with their encoded labels when ``label_mode``), shuffled as the loaders do."""
    ds = Dataset.from_tensor_slices(np.asarray(paths, dtype=str))
    if label_mode:
        ds = Dataset.zip((ds, Dataset.from_tensor_slices(encode_labels(labels, label_mode, num_classes))))
    return ds.shuffle(buffer, seed=seed) if shuffle else ds


__all__ = ["check_validation_split_arg", "check_labels_arg", "index_directory", "training_or_validation_split",
           "encode_labels", "path_dataset"]
