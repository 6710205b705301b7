"""Image preprocessing ops: Resizing and CenterCrop (``tf.image.resize`` semantics, see kernels/resize.py)."""
from ..kernels import resize as R
from .common import check_rank, need


def _image_shape(layer, shape):
    check_rank(layer, shape, (4,))
    return shape


def resizing(layer, shapes):
    shape = _image_shape(layer, shapes[0])
    c = layer.config
    need(layer, not c.get("antialias"), "antialias=True")
    height, width, method = int(c["height"]), int(c["width"]), c.get("interpolation", "bilinear")
    crop, pad, fill = c.get("crop_to_aspect_ratio", False), c.get("pad_to_aspect_ratio", False), c.get(
        "fill_value", 0.0)

    def run(x):
        return R.resize_layer(x, height, width, method, crop, pad, fill).astype("float32", copy=False)
    return run, [(shape[0], height, width, shape[3])]


def center_crop(layer, shapes):
    shape = _image_shape(layer, shapes[0])
    height, width = int(layer.config["height"]), int(layer.config["width"])

    def run(x):
        return R.center_crop(x, height, width)
    return run, [(shape[0], height, width, shape[3])]


OPS = {"Resizing": resizing, "CenterCrop": center_crop}
