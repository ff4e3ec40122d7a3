"""A stand-in for the TF-Hub Magenta model, of realistic size, built locally as a SavedModel.

The real ``arbitrary-image-stylization-v1-256`` cannot be downloaded here, so the hub
backend's cost is measured on a model with the same calling convention
(``model(content[1,H,W,3], style[1,256,256,3]) -> [image]``) and the same kind of network:
an InceptionV3 style predictor (random weights, ``weights=None``: nothing is fetched) with a
100-number bottleneck that drives the conditional instance norms of a Johnson-style
transformer (3 down convs, 5 residual blocks, 2 up convs). Its outputs are meaningless; its
load time, memory and compute are of the right order (~25 M parameters, ~100 MB).

    python -m bench.hub_model DIR     # build it (≈ 30–60 s)
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

BOTTLENECK = 100
TRANSFORMER = [  # (kind, filters, kernel, stride)
    ("conv", 32, 9, 1), ("conv", 64, 3, 2), ("conv", 128, 3, 2),
    *[("res", 128, 3, 1)] * 5,
    ("up", 64, 3, 2), ("up", 32, 3, 2), ("out", 3, 9, 1),
]


def build(folder: Path) -> Path:
    """Build and save the stand-in model into ``folder`` (returned); skips if present."""
    if (folder / "saved_model.pb").exists():
        return folder
    import tensorflow as tf

    tf.random.set_seed(0)
    predictor = tf.keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                                  input_shape=(256, 256, 3))
    bottleneck = tf.keras.layers.Dense(BOTTLENECK)
    norms = []       # (gamma dense, beta dense) per normalised conv
    convs = []
    for kind, filters, kernel, _stride in TRANSFORMER:
        n = 2 if kind == "res" else 1
        for _ in range(n):
            convs.append(tf.keras.layers.Conv2D(filters, kernel, padding="same"))
            norms.append((tf.keras.layers.Dense(filters), tf.keras.layers.Dense(filters)))

    def cin(x, code, i):
        mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        gamma = 1.0 + norms[i][0](code)[:, None, None, :]
        beta = norms[i][1](code)[:, None, None, :]
        return gamma * (x - mean) * tf.math.rsqrt(var + 1e-5) + beta

    class StandIn(tf.Module):
        def __init__(self):
            super().__init__()
            self.layers = [predictor, bottleneck, convs, norms]

        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32),
                                      tf.TensorSpec([1, None, None, 3], tf.float32)])
        def __call__(self, content, style):
            code = bottleneck(predictor(style * 2.0 - 1.0))
            x, i = content, 0
            for kind, _filters, _kernel, stride in TRANSFORMER:
                if kind == "res":
                    y = tf.nn.relu(cin(convs[i](x), code, i))
                    y = cin(convs[i + 1](y), code, i + 1)
                    x, i = x + y, i + 2
                    continue
                if kind == "up":
                    x = tf.image.resize(x, tf.shape(x)[1:3] * stride, method="nearest")
                elif stride > 1:
                    x = tf.nn.avg_pool2d(x, stride, stride, "SAME")
                x = cin(convs[i](x), code, i)
                x = tf.sigmoid(x) if kind == "out" else tf.nn.relu(x)
                i += 1
            return [x]

    module = StandIn()
    module(tf.zeros([1, 64, 64, 3]), tf.zeros([1, 256, 256, 3]))   # create the variables
    folder.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(module, str(folder))
    return folder


def size_mb(folder: Path) -> float:
    """Bytes on disk of the SavedModel folder, in MB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    out = build(Path(sys.argv[1]))
    print(f"{out}: {size_mb(out):.0f} MB")
