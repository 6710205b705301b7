"""The tensors chapter: constants, Variables, ops, random tensors, GradientTape, a linear classifier trained by
hand, then the same problem with a user-written layer inside a user-written Model that compiles and fits.

    python examples/tensors_and_gradients.py [--steps 40] [--epochs 5]
"""
import argparse

import numpy as np

import keraslite as keras
from keraslite import ops

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()
keras.utils.set_random_seed(0)

# --- tensors and variables
x = ops.ones(shape=(2, 1))
print("ones:", x.numpy().ravel().tolist(), "zeros:", ops.zeros(shape=(2, 1)).numpy().ravel().tolist())
print("normal sample shape:", keras.random.normal(shape=(3, 1), mean=0.0, stddev=1.0).shape)
v = keras.Variable(keras.random.normal(shape=(3, 1)))
v.assign(ops.ones((3, 1)))
v[0, 0].assign(3.0)
v.assign_add(ops.ones((3, 1)))
print("variable after assign, v[0, 0].assign(3.), assign_add:", v.numpy().ravel().tolist())
try:
    v.assign(ops.ones((2, 2)))
except ValueError as exc:
    print("assigning the wrong shape:", str(exc).split(". Target")[0])
a = ops.ones((2, 2))
b = ops.square(a)
c = ops.sqrt(a)
d = b + c
e = ops.matmul(a, b)
e *= d
print("ops result:", e.numpy().tolist(), "mean:", float(ops.mean(e)))

# --- gradients
input_var = keras.Variable(3.0)
with keras.GradientTape() as tape:
    result = ops.square(input_var)
print("d(x^2)/dx at 3:", float(tape.gradient(result, input_var)))
input_const = ops.convert_to_tensor(3.0)
with keras.GradientTape() as tape:
    tape.watch(input_const)
    result = ops.square(input_const)
print("d(x^2)/dx at a watched constant 3:", float(tape.gradient(result, input_const)))

# --- a linear classifier from scratch
rng = np.random.default_rng(0)
num = 1000
negative = rng.multivariate_normal(mean=[0, 3], cov=[[1, 0.5], [0.5, 1]], size=num)
positive = rng.multivariate_normal(mean=[3, 0], cov=[[1, 0.5], [0.5, 1]], size=num)
inputs = np.vstack((negative, positive)).astype("float32")
targets = np.vstack((np.zeros((num, 1)), np.ones((num, 1)))).astype("float32")
W = keras.Variable(keras.random.uniform(shape=(2, 1)))
bias = keras.Variable(ops.zeros(shape=(1,)))
learning_rate = 0.1


def model(x):
    return ops.matmul(x, W) + bias


def square_loss(targets, predictions):
    return ops.mean(ops.square(targets - predictions))


def training_step(x, y):
    with keras.GradientTape() as tape:
        loss = square_loss(y, model(x))
    grad_w, grad_b = tape.gradient(loss, [W, bias])
    W.assign_sub(grad_w * learning_rate)
    bias.assign_sub(grad_b * learning_rate)
    return loss


for step in range(args.steps):
    loss = training_step(inputs, targets)
print(f"linear classifier: loss after {args.steps} steps {float(loss):.4f}, accuracy "
      f"{np.mean((model(inputs).numpy() > 0.5) == targets):.3f}")


# --- a layer and a model of one's own
class SimpleDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.W = self.add_weight(shape=(input_dim, self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        y = ops.matmul(inputs, self.W) + self.b
        if self.activation is not None:
            y = self.activation(y)
        return y


class MySequential(keras.Model):
    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        self.my_layers = layers

    def call(self, x):
        for layer in self.my_layers:
            x = layer(x)
        return x


my_dense = SimpleDense(units=32, activation=ops.relu)
print("SimpleDense output shape:", my_dense(ops.ones(shape=(2, 784))).shape)
net = MySequential([SimpleDense(16, activation=ops.relu), SimpleDense(1, activation=keras.activations.sigmoid)])
net.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="binary_crossentropy",
            metrics=["accuracy"])
history = net.fit(inputs, targets, epochs=args.epochs, batch_size=64, verbose=0)
print(f"MySequential: {len(net.trainable_weights)} trainable weights, final accuracy "
      f"{history.history['accuracy'][-1]:.3f}")
