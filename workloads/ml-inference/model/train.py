"""Train the `ml-inference` model and export it to ONNX, with the data set it reads.

A small convolutional network for scikit-learn's 8x8 handwritten digits (1797 images,
pixel values 0-16):

    image [N,1,8,8] (pixels / 16)
      -> Conv 3x3, 8 filters, padding 1 -> ReLU -> Flatten (512)
      -> Gemm 512x10 -> Softmax -> scores [N,10]

Trained with plain NumPy (mini-batch Adam on cross-entropy, seed 20261123) so that the
run is reproducible without a deep-learning framework; the graph is written with the
`onnx` package's helpers. Outputs, beside this script:

    digits.onnx   the model (opset 13)
    ../data/digits.csv   every image: label, then 64 pixel values (0-16)

Usage (PyPI packages numpy, scikit-learn, onnx):

    python3 workloads/ml-inference/model/train.py
"""

import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20261123
FILTERS = 8
EPOCHS = 40
BATCH = 32
LEARNING_RATE = 0.01
HERE = pathlib.Path(__file__).resolve().parent


def patches(x):
    """[N,8,8] -> [N,64,9]: the 3x3 neighbourhood (zero padded) of every pixel."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = [padded[:, dy : dy + 8, dx : dx + 8] for dy in range(3) for dx in range(3)]
    return np.stack(cols, axis=-1).reshape(len(x), 64, 9)


def forward(params, p):
    w1, b1, w2, b2 = params
    conv = p @ w1.reshape(FILTERS, 9).T + b1  # [N,64,F]
    relu = np.maximum(conv, 0)
    # ONNX's Flatten of [N,F,8,8]: channel-major.
    flat = relu.transpose(0, 2, 1).reshape(len(p), FILTERS * 64)
    logits = flat @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return conv, flat, e / e.sum(axis=1, keepdims=True)


def gradients(params, p, y):
    w1, b1, w2, b2 = params
    conv, flat, probs = forward(params, p)
    n = len(p)
    d_logits = probs.copy()
    d_logits[np.arange(n), y] -= 1
    d_logits /= n
    d_w2 = flat.T @ d_logits
    d_b2 = d_logits.sum(axis=0)
    d_flat = d_logits @ w2.T
    d_relu = d_flat.reshape(n, FILTERS, 64).transpose(0, 2, 1)
    d_conv = d_relu * (conv > 0)
    d_w1 = np.einsum("npf,npk->fk", d_conv, p).reshape(w1.shape)
    d_b1 = d_conv.sum(axis=(0, 1))
    return [d_w1, d_b1, d_w2, d_b2]


def train(x, y, rng):
    params = [
        rng.normal(0, np.sqrt(2 / 9), (FILTERS, 1, 3, 3)),
        np.zeros(FILTERS),
        rng.normal(0, np.sqrt(1 / (FILTERS * 64)), (FILTERS * 64, 10)),
        np.zeros(10),
    ]
    m = [np.zeros_like(q) for q in params]
    v = [np.zeros_like(q) for q in params]
    p = patches(x)
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            batch = order[start : start + BATCH]
            step += 1
            for i, g in enumerate(gradients(params, p[batch], y[batch])):
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                m_hat = m[i] / (1 - 0.9**step)
                v_hat = v[i] / (1 - 0.999**step)
                params[i] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
    return [q.astype(np.float32) for q in params]


def accuracy(params, x, y):
    return float((forward(params, patches(x))[2].argmax(axis=1) == y).mean())


def export(params, path):
    w1, b1, w2, b2 = params
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w1", "b1"], ["conv"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["conv"], ["relu"]),
            helper.make_node("Flatten", ["relu"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
        ],
        "digits-cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 10])],
        [
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="owbench workloads/ml-inference/model/train.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    digits = load_digits()
    x = digits.images.astype(np.float64) / 16.0
    y = digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=SEED % 2**32, stratify=y
    )
    params = train(x_train, y_train, np.random.default_rng(SEED))
    print(f"train accuracy {accuracy(params, x_train, y_train):.4f}")
    print(f"test accuracy  {accuracy(params, x_test, y_test):.4f}")
    print(f"all 1797       {accuracy(params, x, y):.4f}")
    export(params, HERE / "digits.onnx")
    data = HERE.parent / "data"
    data.mkdir(exist_ok=True)
    with open(data / "digits.csv", "w") as f:
        for label, image in zip(digits.target, digits.data.astype(int)):
            f.write(",".join(str(v) for v in [label, *image]) + "\n")


if __name__ == "__main__":
    main()
