"""The registered workload as a stock OpenWhisk `python:3` action.

The action's zip holds the workload's module, this SDK, its pure-Python dependencies and
a `__main__.py` that imports the workload and then `main` from here. OpenWhisk calls
`main(args)` with the invocation's parameters; bad parameters and failures return
`{"error": ...}`, which OpenWhisk records as an application error. Logs are printed,
which OpenWhisk keeps as the activation's logs.
"""

import json
import shutil

import owbench_workload as sdk


def main(args):
    """OpenWhisk's entry point. The scratch directory is emptied after each call, as in
    a component (a warm container serves many)."""
    try:
        return json.loads(sdk.registered().call(json.dumps(args)))
    except sdk.InvalidParams as e:
        return {"error": f"invalid params: {e}"}
    except sdk.Failed as e:
        return {"error": str(e)}
    finally:
        if sdk._scratch is not None:
            shutil.rmtree(sdk._scratch, ignore_errors=True)
            sdk._scratch = None
