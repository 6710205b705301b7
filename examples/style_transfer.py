"""Neural style transfer (Gatys et al.), written as TensorFlow's "Neural style transfer" tutorial writes it: a VGG19
feature extractor, Gram matrices of its activations, and Adam steps on the pixels of an image Variable.

    python examples/style_transfer.py CONTENT STYLE OUT.png [--weights vgg19_notop.h5] [--steps N] [--size 256]

``--weights`` is Keras' VGG19 weight file without the top (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, what
``VGG19(include_top=False, weights="imagenet")`` uses). keraslite downloads nothing, so without it the features come
from random VGG19 weights: the picture takes much less of the style.
"""
import argparse
import sys
import time

import numpy as np
from PIL import Image

import keraslite as keras
from keraslite import ops

content_layers = ["block5_conv2"]
style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
num_content_layers = len(content_layers)
num_style_layers = len(style_layers)
style_weight = 1e-2
content_weight = 1e4
total_variation_weight = 30


def load_img(path, max_dim):
    """An RGB picture in [0, 1] with its long side ``max_dim``, as a batch of one."""
    img = Image.open(path).convert("RGB")
    scale = max_dim / max(img.size)
    img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.BILINEAR)
    return np.asarray(img, dtype="float32")[np.newaxis] / 255.0


def tensor_to_image(tensor):
    tensor = np.array(tensor * 255, dtype=np.uint8)
    return Image.fromarray(tensor[0])


def vgg_layers(layer_names, weights):
    """A VGG19 model that returns the activations of ``layer_names``."""
    vgg = keras.applications.VGG19(include_top=False, weights=weights)
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in layer_names]
    return keras.Model([vgg.input], outputs)


def gram_matrix(input_tensor):
    result = ops.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = ops.shape(input_tensor)
    num_locations = ops.cast(input_shape[1] * input_shape[2], "float32")
    return result / num_locations


class StyleContentModel(keras.models.Model):
    def __init__(self, style_layers, content_layers, weights):
        super().__init__()
        self.vgg = vgg_layers(style_layers + content_layers, weights)
        self.style_layers = style_layers
        self.content_layers = content_layers
        self.num_style_layers = len(style_layers)
        self.vgg.trainable = False

    def call(self, inputs):
        """Expects float input in [0, 1]."""
        inputs = inputs * 255.0
        preprocessed_input = keras.applications.vgg19.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs, content_outputs = outputs[:self.num_style_layers], outputs[self.num_style_layers:]
        style_outputs = [gram_matrix(style_output) for style_output in style_outputs]
        content_dict = {name: value for name, value in zip(self.content_layers, content_outputs)}
        style_dict = {name: value for name, value in zip(self.style_layers, style_outputs)}
        return {"content": content_dict, "style": style_dict}


def clip_0_1(image):
    return ops.clip(image, 0.0, 1.0)


def style_transfer_step(extractor, style_targets, content_targets):
    """The tutorial's ``train_step``: one Adam step on the image; returns the function and its optimizer."""
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    def style_content_loss(outputs):
        style_outputs = outputs["style"]
        content_outputs = outputs["content"]
        style_loss = ops.sum(ops.stack([ops.mean((style_outputs[name] - style_targets[name]) ** 2)
                                        for name in style_outputs.keys()]))
        style_loss *= style_weight / num_style_layers
        content_loss = ops.sum(ops.stack([ops.mean((content_outputs[name] - content_targets[name]) ** 2)
                                          for name in content_outputs.keys()]))
        content_loss *= content_weight / num_content_layers
        loss = style_loss + content_loss
        return loss

    def train_step(image):
        with keras.GradientTape() as tape:
            outputs = extractor(image)
            loss = style_content_loss(outputs)
            loss += total_variation_weight * ops.image.total_variation(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(clip_0_1(image))
        return float(ops.sum(loss))

    return train_step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("out")
    parser.add_argument("--weights", help="Keras' VGG19 notop weight file (default: random weights)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--size", type=int, default=256, help="long side of the pictures in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    if args.weights is None:
        print("no --weights given: VGG19 has random weights (keraslite downloads nothing), whose features carry "
              "little style, so the picture will be weaker than with Keras' ImageNet weights "
              "(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5)", file=sys.stderr)

    content_image = load_img(args.content, args.size)
    style_image = load_img(args.style, args.size)
    extractor = StyleContentModel(style_layers, content_layers, args.weights)
    style_targets = extractor(ops.convert_to_tensor(style_image))["style"]
    content_targets = extractor(ops.convert_to_tensor(content_image))["content"]
    image = keras.Variable(content_image)
    train_step = style_transfer_step(extractor, style_targets, content_targets)

    start = time.perf_counter()
    first = None
    for step in range(1, args.steps + 1):
        loss = train_step(image)
        first = loss if first is None else first
        if step == 1 or step % 10 == 0 or step == args.steps:
            print(f"step {step}: loss {loss:.6g} ({time.perf_counter() - start:.1f} s)", flush=True)
    tensor_to_image(image.numpy()).save(args.out)
    print(f"loss {first:.6g} -> {loss:.6g} in {args.steps} steps; wrote {args.out}")


if __name__ == "__main__":
    main()
