"""FunctionBench's `float_operation`: sin, cos and sqrt of 0 .. n-1.

As in the suite, `n` floating-point iterations; the port also returns their sum, so the
component's answer can be checked against CPython's.
"""

import math
import time

from owbench_workload import integer, metric, workload


@workload(
    name="float-operation",
    category="cpu",
    description="FunctionBench float_operation: sin, cos and sqrt of 0 .. n-1 (Python)",
    defaults={"n": 100000},
)
def run(params):
    n = integer(params, "n", 1, 100_000_000)
    start = time.perf_counter()
    total = 0.0
    for i in range(0, n):
        sin_i = math.sin(i)
        cos_i = math.cos(i)
        sqrt_i = math.sqrt(i)
        total += sin_i + cos_i + sqrt_i
    metric("latency", time.perf_counter() - start, "s")
    return {"n": n, "sum": total}
