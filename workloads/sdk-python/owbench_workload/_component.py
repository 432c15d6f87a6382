"""The `owbench:plugin/workload` world's exports for the registered workload.

Imported by the entry module `owbench plugin build` writes (which imports the workload's
module first); componentize-py finds `WitWorld` there. Only ever imported inside a
component: `wit_world` is the bindings componentize-py generates.
"""

from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports import owbench_plugin_types as types

import owbench_workload as sdk

sdk._scratch = "/scratch"
sdk._set_sinks(
    lambda level, message: host.log(host.Level[level.upper()], message),
    lambda name, value, unit: host.metric(name, value, unit),
)


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
