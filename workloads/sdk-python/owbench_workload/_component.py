"""The `owbench:plugin/workload` world's exports for the registered workload.

Imported by the entry module `owbench plugin build` writes (which imports the workload's
module first); componentize-py finds `WitWorld` there. Only ever imported inside a
component: `wit_world` is the bindings componentize-py generates.
"""

import io
import re
import sys
import urllib.parse

from componentize_py_types import Err
from wit_world.imports import host, outgoing_handler, streams
from wit_world.imports import owbench_plugin_types as types
from wit_world.imports import wasi_http_types as http

import owbench_workload as sdk

sdk._scratch = "/scratch"
sdk._set_sinks(
    lambda level, message: host.log(host.Level[level.upper()], message),
    lambda name, value, unit: host.metric(name, value, unit),
)


def _error(code):
    """A `wasi:http` error code in words: `ErrorCode_ConnectionRefused` -> `connection
    refused`; `dns error: failed to lookup address information: ...` (a payload's
    fields that are set, after a colon)."""
    name = re.sub(r"(?<!^)(?=[A-Z])", " ", type(code).__name__.removeprefix("ErrorCode_"))
    value = getattr(code, "value", None)
    fields = vars(value).values() if hasattr(value, "__dict__") else [value]
    detail = ", ".join(str(f) for f in fields if f not in (None, 0, ""))
    return name.lower() + (f": {detail}" if detail else "")


def _wasi_get(url, timeout_s, max_bytes):
    """`http_get` through `wasi:http`, blocking on its pollables."""
    parts = urllib.parse.urlsplit(url)
    request = http.OutgoingRequest(http.Fields.from_list([("user-agent", b"owbench-workload")]))
    request.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    try:
        request.set_authority(parts.netloc)
        request.set_path_with_query((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    except Err:
        raise sdk.InvalidParams(f"not a valid URL: {url!r}") from None
    options = http.RequestOptions()
    nanos = int(timeout_s * 1e9)
    options.set_connect_timeout(nanos)
    options.set_first_byte_timeout(nanos)
    options.set_between_bytes_timeout(nanos)
    try:
        future = outgoing_handler.handle(request, options)
    except Err as e:
        raise sdk.Failed(f"GET {url}: {_error(e.value)}") from None
    with future:
        with future.subscribe() as ready:
            ready.block()
        answer = future.get().value
    if isinstance(answer, Err):
        raise sdk.Failed(f"GET {url}: {_error(answer.value)}")
    chunks, size = [], 0
    with answer.value as response:
        status = response.status()
        with response.headers() as fields:
            headers = [(k.lower(), v.decode("latin-1")) for k, v in fields.entries()]
        with response.consume() as body, body.stream() as stream:
            while True:
                try:
                    chunk = stream.blocking_read(64 * 1024)
                except Err as e:
                    if isinstance(e.value, streams.StreamError_Closed):
                        break
                    with e.value.value as cause:
                        detail = cause.to_debug_string()
                    raise sdk.Failed(f"GET {url}: the body broke off: {detail}") from None
                size += len(chunk)
                if size > max_bytes:
                    raise sdk.Failed(f"GET {url}: the body is over {max_bytes} bytes")
                chunks.append(chunk)
    return sdk.Response(status, headers, b"".join(chunks))


sdk._http_get = _wasi_get


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
