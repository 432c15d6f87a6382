"""The `owbench:plugin/workload` world's exports for the registered workload.

Imported by the entry module `owbench plugin build` writes (which imports the workload's
module first); componentize-py finds `WitWorld` there. Only ever imported inside a
component: `wit_world` is the bindings componentize-py generates.
"""

import io
import sys

from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports import owbench_plugin_types as types

import owbench_workload as sdk

sdk._scratch = "/scratch"
sdk._set_sinks(
    lambda level, message: host.log(host.Level[level.upper()], message),
    lambda name, value, unit: host.metric(name, value, unit),
)


class _LogLines(io.TextIOBase):
    """What the workload prints, logged line by line at `info` (as natively)."""

    def __init__(self):
        self._pending = ""

    def writable(self):
        return True

    def write(self, text):
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            host.log(host.Level.INFO, line)
        return len(text)

    def flush(self):
        if self._pending:
            host.log(host.Level.INFO, self._pending)
            self._pending = ""


sys.stdout = _LogLines()


class WitWorld:
    """The world's exports: `describe` and `run`."""

    def describe(self):
        w = sdk.registered()
        return types.WorkloadInfo(
            name=w.name,
            version=w.version,
            category=types.Category[w.category.upper()],
            description=w.description,
            default_params=w.defaults_json,
        )

    def run(self, params):
        try:
            return sdk.registered().call(params)
        except sdk.InvalidParams as e:
            raise Err(types.WorkloadError_InvalidParams(str(e))) from None
        except sdk.Failed as e:
            raise Err(types.WorkloadError_Failed(str(e))) from None
        finally:
            sys.stdout.flush()
