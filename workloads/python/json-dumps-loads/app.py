"""FunctionBench's `json_dumps_loads`: parse a JSON document and write it back, indented.

The suite downloads a public JSON data set first; this port makes a document of
`records` records from a seeded generator instead (no network), then does what the suite
times, `iterations` times: `json.loads`, then `json.dumps(..., indent=4)`. The answer is
the SHA-256 of the last text written, the same on every runtime.
"""

import hashlib
import json
import random
import time

from owbench_workload import integer, metric, workload


def document(records, rng):
    """A JSON text of `records` records like a public data set's."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    rows = [
        {
            "id": i,
            "name": " ".join(rng.choice(words) for _ in range(3)),
            "score": round(rng.uniform(0, 100), 3),
            "active": rng.random() < 0.5,
            "tags": rng.sample(words, 3),
            "location": {"lat": round(rng.uniform(-90, 90), 6), "lon": round(rng.uniform(-180, 180), 6)},
        }
        for i in range(records)
    ]
    return json.dumps({"count": records, "rows": rows})


@workload(
    name="json-dumps-loads",
    category="cpu",
    description="FunctionBench json_dumps_loads: JSON parsed and written back indented (Python)",
    defaults={"records": 2000, "iterations": 5, "seed": 42},
)
def run(params):
    records = integer(params, "records", 1, 1_000_000)
    iterations = integer(params, "iterations", 1, 10_000)
    text = document(records, random.Random(integer(params, "seed", 0, 2**63 - 1)))
    start = time.perf_counter()
    for _ in range(iterations):
        data = json.loads(text)
        written = json.dumps(data, indent=4)
    metric("latency", time.perf_counter() - start, "s")
    return {
        "records": records,
        "iterations": iterations,
        "input_bytes": len(text),
        "output_sha256": hashlib.sha256(written.encode()).hexdigest(),
    }
