"""The folder loaders against real Keras 3: file order, seeded shuffle, training/validation split, label modes,
class names and pixels (tests/fixtures/{text,images}, made by make_text_fixtures.py / make_image_fixtures.py);
and the bad inputs of the issue, each a clear error naming the file or the argument."""
import json
import os
import shutil

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.data import directory as D

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
IMAGES = os.path.join(FIXTURES, "images")
TREE = os.path.join(IMAGES, "tree")
with open(os.path.join(FIXTURES, "text", "folders.json"), encoding="utf-8") as fh:
    FOLDERS = json.load(fh)
with open(os.path.join(IMAGES, "cases.json")) as fh:
    IMAGE_CASES = json.load(fh)
with open(os.path.join(IMAGES, "loader.json")) as fh:
    LOADER = [m for m in json.load(fh) if "kwargs" in m]
utils = keras.utils


@pytest.fixture(scope="module")
def text_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("reviews")
    for rel, text in FOLDERS["tree"].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return str(root)


@pytest.mark.parametrize("case", FOLDERS["index"], ids=[str(c["args"]) for c in FOLDERS["index"]])
def test_index_order_and_labels_are_keras(text_tree, case):
    args = case["args"]
    paths, labels, names = D.index_directory(text_tree, args.get("labels", "inferred"), (".txt",),
                                             args.get("class_names"), args["shuffle"], args.get("seed"),
                                             verbose=False)
    assert [os.path.relpath(p, text_tree) for p in paths] == case["paths"]
    assert (None if labels is None else labels.tolist()) == case["labels"]
    assert names == case["class_names"]


@pytest.mark.parametrize("case", FOLDERS["splits"], ids=[str(c["args"]) for c in FOLDERS["splits"]])
def test_text_splits_are_keras(text_tree, case):
    got = utils.text_dataset_from_directory(text_tree, batch_size=None, verbose=False, **case["args"])
    parts = got if isinstance(got, list) else [got]
    assert len(parts) == len(case["subsets"])
    for ds, want in zip(parts, case["subsets"]):
        assert sorted((t.decode(), int(y)) for t, y in ds.as_numpy_iterator()) == [tuple(i) for i in want["items"]]
        assert ds.class_names == want["class_names"]


@pytest.mark.parametrize("case", FOLDERS["modes"], ids=[str(c["kwargs"]) for c in FOLDERS["modes"]])
def test_text_label_modes_and_max_length_are_keras(text_tree, case):
    ds = utils.text_dataset_from_directory(text_tree, batch_size=4, shuffle=False, verbose=False, **case["kwargs"])
    got = list(ds.as_numpy_iterator())
    assert len(got) == len(case["batches"])
    for batch, want in zip(got, case["batches"]):
        texts = batch[0] if isinstance(batch, tuple) else batch
        assert [t.decode() for t in texts] == want["x"]
        if isinstance(batch, tuple):
            assert batch[1].tolist() == want["y"] and str(batch[1].dtype) == want["y_dtype"]


@pytest.mark.parametrize("case", IMAGE_CASES["splits"], ids=[str(c["kwargs"]) for c in IMAGE_CASES["splits"]])
def test_image_file_paths_and_splits_are_keras(case):
    got = utils.image_dataset_from_directory(TREE, image_size=(4, 4), verbose=False, **case["kwargs"])
    parts = got if isinstance(got, list) else [got]
    assert [[os.path.relpath(p, TREE) for p in ds.file_paths] for ds in parts] == case["file_paths"]


def _subset_tree(root, files):
    for rel in files:
        os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
        shutil.copy(os.path.join(TREE, rel), os.path.join(root, rel))
    return str(root)


@pytest.mark.parametrize("case", LOADER, ids=[c["name"] for c in LOADER])
def test_image_pixels_are_keras(case, tmp_path):
    with np.load(os.path.join(IMAGES, "loader.npz")) as npz:
        want_x, want_y = npz[case["name"] + "__x"], npz[case["name"] + "__y"]
    root = _subset_tree(tmp_path, case["files"])
    ds = utils.image_dataset_from_directory(root, shuffle=False, batch_size=None, verbose=False, **case["kwargs"])
    xs, ys = zip(*ds.as_numpy_iterator())
    x, y = np.stack(xs), np.stack(ys)
    assert [os.path.relpath(p, root) for p in ds.file_paths] == case["file_paths"]
    assert ds.class_names == case["class_names"]
    assert str(x.dtype) == case["dtype"] and str(y.dtype) == case["label_dtype"]
    np.testing.assert_array_equal(y, want_y)
    if case["kwargs"].get("color_mode") == "rgba":
        # TensorFlow gives a 4-bit palette PNG an alpha of 15 (a libpng filler set from the bit depth); keraslite
        # makes it opaque. Every other value is TensorFlow's.
        palette = case["file_paths"].index("cls_b/palette.png")
        x, want_x = x.copy(), want_x.copy()
        x[palette, ..., 3] = want_x[palette, ..., 3] = 0
    tolerance = 1e-4 if case["kwargs"].get("interpolation") == "area" else 0
    np.testing.assert_allclose(x.astype(np.float64), want_x, atol=tolerance, rtol=0)


def test_batches_and_tutorial_calls():
    train, val = utils.image_dataset_from_directory(TREE, validation_split=0.4, subset="both", seed=99,
                                                    image_size=(12, 10), batch_size=4, verbose=False)
    assert train.class_names == ["cls_a", "cls_b"] and train.cardinality() == 2 and val.cardinality() == 1
    for images, labels in train.take(1):
        assert images.shape == (4, 12, 10, 3) and images[0].numpy().astype("uint8").shape == (12, 10, 3)
        assert train.class_names[labels[0]] in ("cls_a", "cls_b")
    ds = train.cache().shuffle(1000).prefetch(buffer_size=keras.data.AUTOTUNE)
    assert sum(b[0].shape[0] for b in ds) == 7


def test_no_class_folders(tmp_path):
    (tmp_path / "a.jpg").write_bytes(open(os.path.join(TREE, "cls_a", "photo1.jpg"), "rb").read())
    with pytest.raises(KerasliteError, match=r"No images found in directory .*images must sit in class sub-folders"):
        utils.image_dataset_from_directory(str(tmp_path), verbose=False)


def test_empty_class_is_named(tmp_path):
    _subset_tree(tmp_path, ["cls_a/photo1.jpg"])
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning, match=r"Class folder .*empty' holds no files .*class 'empty' \(label 1\)"):
        ds = utils.image_dataset_from_directory(str(tmp_path), image_size=(4, 4), verbose=False)
    assert ds.class_names == ["cls_a", "empty"]


def test_corrupt_truncated_and_unreadable_images_are_named(tmp_path):
    root = _subset_tree(tmp_path, ["cls_a/photo1.jpg", "cls_a/photo2.jpeg", "cls_b/img.png"])
    photo = open(os.path.join(TREE, "cls_a", "photo1.jpg"), "rb").read()
    (tmp_path / "cls_a" / "photo2.jpeg").write_bytes(photo[:len(photo) // 3])
    with pytest.raises(KerasliteError, match=r"Failed to decode image file '.*photo2\.jpeg': invalid or truncated "
                                             r"JPEG"):
        list(utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False))
    (tmp_path / "cls_a" / "photo2.jpeg").unlink()
    (tmp_path / "cls_b" / "img.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(KerasliteError, match=r"Failed to decode image file '.*img\.png': invalid or truncated PNG"):
        list(utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False))
    (tmp_path / "cls_b" / "img.png").unlink()
    os.symlink(str(tmp_path / "gone.png"), str(tmp_path / "cls_b" / "link.png"))
    with pytest.raises(KerasliteError, match=r"Cannot read image file '.*link\.png'"):
        list(utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False))


def test_text_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "ok.txt").write_text("fine")
    (tmp_path / "pos" / "latin.txt").write_bytes("café".encode("latin-1"))
    ds = utils.text_dataset_from_directory(str(tmp_path), shuffle=False, verbose=False)
    with pytest.raises(KerasliteError, match=r"Text file '.*latin\.txt' is not UTF-8 \(unexpected end of data at "
                                             r"byte 3\); the text loaders read UTF-8"):
        list(ds)


@pytest.mark.parametrize("kwargs, message", [
    ({"validation_split": 0.2, "subset": "training"}, "If using `validation_split` and shuffling the data, you must "
                                                      "provide a `seed` argument"),
    ({"subset": "training"}, "If `subset` is set, `validation_split` must be set, and inversely."),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, "`validation_split` must be between 0 and 1"),
    ({"validation_split": 0.2, "subset": "train", "seed": 1}, '`subset` must be either "training", "validation" or '
                                                             '"both", received: train'),
    ({"label_mode": "sparse"}, '`label_mode` argument must be one of "int", "categorical", "binary", or None.'),
    ({"labels": "folders"}, "`labels` argument should be a list/tuple of integer labels"),
    ({"class_names": ["cls_c"]}, "The `class_names` passed did not match the names of the subdirectories"),
])
def test_bad_arguments_use_keras_wording(kwargs, message):
    with pytest.raises(KerasliteError, match=message.replace("(", r"\(").replace(")", r"\)")):
        utils.image_dataset_from_directory(TREE, verbose=False, **kwargs)
    with pytest.raises(KerasliteError, match="Could not find directory"):
        utils.text_dataset_from_directory(os.path.join(TREE, "missing"))


def test_binary_needs_two_classes(text_tree):
    with pytest.raises(KerasliteError, match='When passing `label_mode="binary"`, there must be exactly 2 '
                                             "class_names. Received: class_names=\\['neg', 'pos', 'unsup'\\]"):
        utils.text_dataset_from_directory(text_tree, label_mode="binary", verbose=False)


def test_follow_links_walks_linked_folders_inside_classes_as_keras(tmp_path):
    # Real Keras 3.15 on this tree (checked by hand): a linked class folder is always read (os.walk follows its
    # top), a link inside a class only with follow_links=True.
    (tmp_path / "root" / "a").mkdir(parents=True)
    (tmp_path / "outside" / "deep").mkdir(parents=True)
    (tmp_path / "root" / "a" / "1.txt").write_text("one")
    (tmp_path / "outside" / "2.txt").write_text("two")
    (tmp_path / "outside" / "deep" / "3.txt").write_text("three")
    os.symlink(str(tmp_path / "outside"), str(tmp_path / "root" / "b"))
    os.symlink(str(tmp_path / "outside" / "deep"), str(tmp_path / "root" / "a" / "nested"))
    seen = {}
    for follow in (False, True):
        ds = utils.text_dataset_from_directory(str(tmp_path / "root"), shuffle=False, follow_links=follow,
                                               batch_size=None, verbose=False)
        assert ds.class_names == ["a", "b"]
        seen[follow] = [(x.numpy(), int(y)) for x, y in ds]
    assert seen[False] == [(b"one", 0), (b"two", 1), (b"three", 1)]
    assert seen[True] == [(b"one", 0), (b"three", 0), (b"two", 1), (b"three", 1)]
