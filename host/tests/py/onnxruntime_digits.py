"""Classify images with onnxruntime: the reference for the ml-inference cross-check.

    python onnxruntime_digits.py MODEL.onnx IMAGES.csv

IMAGES.csv: a true label, then 64 pixels 0-16, a line each (as the workload reads it).
Prints JSON: {"labels": [...], "scores": [[10 floats], ...]}.
"""

import json
import sys

import numpy as np
import onnxruntime

model, images = sys.argv[1], sys.argv[2]
rows = np.loadtxt(images, delimiter=",", dtype=np.float32, ndmin=2)
pixels = (rows[:, 1:] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
(scores,) = session.run(None, {session.get_inputs()[0].name: pixels})
json.dump(
    {"labels": scores.argmax(axis=1).tolist(), "scores": scores.tolist()},
    sys.stdout,
)
