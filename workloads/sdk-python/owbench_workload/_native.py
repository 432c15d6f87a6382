"""Run a Python workload once under CPython, as owbench's native twin of its component.

    python3 -I _native.py SDK_DIR WORKLOAD_DIR MODULE [SITE_DIR] < params.json

Prints one JSON object on stdout: `{"result": ...}`, `{"invalid_params": "..."}` or
`{"failed": "..."}`, with `logs` ([level, message] pairs), `metrics` ([name, value,
unit]) and `elapsed_ms` (the call alone, not the start of Python). What the workload
prints goes to the logs.
"""

import importlib
import io
import json
import sys
import time


def main():
    sdk_dir, workload_dir, module = sys.argv[1:4]
    # The workload's directory, the SDK, then its pure-Python requirements.
    sys.path[:0] = [workload_dir, sdk_dir, *sys.argv[4:]]
    import owbench_workload as sdk

    logs, metrics = [], []
    sdk._set_sinks(
        lambda level, message: logs.append([level, message]),
        lambda name, value, unit: metrics.append([name, value, unit]),
    )
    answer = {}
    out, printed = sys.stdout, io.StringIO()
    sys.stdout = printed
    try:
        importlib.import_module(module)
        params = sys.stdin.buffer.read().decode("utf-8")
        start = time.perf_counter()
        try:
            answer["result"] = json.loads(sdk.registered().call(params))
        except sdk.InvalidParams as e:
            answer["invalid_params"] = str(e)
        except sdk.Failed as e:
            answer["failed"] = str(e)
        answer["elapsed_ms"] = (time.perf_counter() - start) * 1000
    finally:
        sys.stdout = out
        if sdk._scratch is not None:
            import shutil

            shutil.rmtree(sdk._scratch, ignore_errors=True)
    logs.extend(["info", line] for line in printed.getvalue().splitlines())
    answer["logs"] = logs
    answer["metrics"] = metrics
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
