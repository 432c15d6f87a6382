"""Write an owbench workload in Python: one decorated function.

The same file runs as a WebAssembly component (`owbench plugin build` makes one with
componentize-py against owbench's WIT), natively under CPython (`owbench workload run
DIR --native`), and as a stock OpenWhisk `python:3` action (`main(args)` in
`owbench_workload.openwhisk`)::

    from owbench_workload import InvalidParams, log, metric, workload

    @workload(name="hello", category="cpu", description="says hello to `who`",
              defaults={"who": "world"})
    def run(params):
        who = params["who"]
        if not isinstance(who, str) or not who:
            raise InvalidParams("`who` must be a non-empty string")
        log("info", f"greeting {who}")
        metric("name_bytes", len(who), "bytes")
        return {"greeting": f"hello, {who}"}

`http_get(url)` fetches a URL: through `wasi:http` in a component (to the hosts the
manifest's `allowed_outbound_hosts` allows), through urllib natively and in an OpenWhisk
action.

`run` gets the invocation's parameters over `defaults` and returns a dict that JSON can
hold. Raise `InvalidParams` for bad parameters and `Failed` for work that could not be
done; any other exception fails the call with its type and message, its traceback in
the logs.
"""

import json
import math
import traceback

__all__ = [
    "CATEGORIES",
    "Failed",
    "InvalidParams",
    "LEVELS",
    "Response",
    "Workload",
    "http_get",
    "integer",
    "log",
    "metric",
    "registered",
    "scratch_dir",
    "workload",
]

#: What a workload mostly stresses (the WIT `category` enum).
CATEGORIES = ("cpu", "memory", "network", "disk", "ml", "genomics", "bigdata")
#: Severities of a log line (the WIT `level` enum).
LEVELS = ("debug", "info", "warn", "error")


class InvalidParams(Exception):
    """A parameter is missing, of the wrong type or out of range."""


class Failed(Exception):
    """The workload started but could not finish."""


class Workload:
    """A registered workload: its description and its function."""

    def __init__(self, fn, name, version, category, description, defaults):
        if category not in CATEGORIES:
            raise ValueError(f"category {category!r}: one of {', '.join(CATEGORIES)}")
        if not isinstance(defaults, dict):
            raise ValueError("defaults must be a dict")
        self.fn = fn
        self.name = name
        self.version = version
        self.category = category
        self.description = description
        self.defaults = defaults
        # Fails here, at registration, if the defaults are not JSON.
        self.defaults_json = json.dumps(defaults, allow_nan=False)

    def call(self, params_json):
        """Run once on `params_json` (a JSON object as text); the result as JSON text.

        Raises `InvalidParams` or `Failed`."""
        try:
            params = json.loads(params_json) if params_json.strip() else {}
        except ValueError as e:
            raise InvalidParams(f"params are not JSON: {e}") from None
        if not isinstance(params, dict):
            raise InvalidParams(f"params must be a JSON object, not {_kind(params)}")
        merged = dict(self.defaults)
        merged.update(params)
        try:
            result = self.fn(merged)
        except (InvalidParams, Failed):
            raise
        except Exception as e:  # noqa: BLE001 - every error of user code becomes a failure
            # One log line per line: a log line holds no line breaks.
            for line in traceback.format_exc().rstrip().splitlines():
                log("error", line)
            raise Failed(f"{type(e).__name__}: {e}") from None
        if not isinstance(result, dict):
            raise Failed(f"workload returned {_kind(result)}, not a dict")
        try:
            return json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise Failed(f"the result is not JSON: {e}") from None


def integer(params, key, low, high):
    """`params[key]`, an integer from `low` to `high`, or `InvalidParams` naming it."""
    value = params.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidParams(f"`{key}` must be an integer from {low} to {high}")
    return value


def _kind(value):
    return {
        type(None): "null",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


_registered = None


def workload(*, name, category, description, defaults=None, version="0.1.0"):
    """Register the decorated `run(params) -> dict` as this module's workload."""

    def register(fn):
        global _registered
        if _registered is not None and _registered.fn is not fn:
            raise RuntimeError(
                f"one workload per plugin: {_registered.name!r} is registered already"
            )
        _registered = Workload(fn, name, version, category, description, defaults or {})
        return fn

    return register


def registered():
    """The registered workload."""
    if _registered is None:
        raise RuntimeError("no workload registered: decorate a function with @workload(...)")
    return _registered


_scratch = None


def scratch_dir():
    """This call's private scratch directory (`/scratch` in a component, emptied after
    each call; a temporary directory natively)."""
    global _scratch
    if _scratch is None:
        import tempfile

        _scratch = tempfile.mkdtemp(prefix="owbench-scratch-")
    return _scratch


def _check_identity(name, version):
    """Fail unless the registered workload is `name` `version` (what plugin.toml says)."""
    w = registered()
    if (w.name, w.version) != (name, version):
        raise RuntimeError(
            f"the module registers workload {w.name!r} version {w.version!r}, "
            f"but plugin.toml says {name!r} version {version!r}"
        )


def _print_sink(level, message):
    print(f"[{level}] {message}", flush=True)


_log_sink = _print_sink
_metric_sink = None


def _set_sinks(log_sink, metric_sink):
    """Where `log` and `metric` go (set by the runner: component, CPython, OpenWhisk)."""
    global _log_sink, _metric_sink
    _log_sink = log_sink
    _metric_sink = metric_sink


def log(level, message):
    """Record one log line at `level` (debug, info, warn, error)."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: one of {', '.join(LEVELS)}")
    _log_sink(level, str(message))


def metric(name, value, unit):
    """Report one figure the workload measured itself, e.g. `metric("mb_per_s", 41.5, "MB/s")`."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"metric {name!r}: {value} is not a finite number")
    if _metric_sink is not None:
        _metric_sink(name, value, unit)
    else:
        _log_sink("info", f"metric {name} = {value} {unit}")


class Response:
    """What `http_get` got: `status` (int), `headers` ((name, value) pairs, names in
    lower case) and `body` (bytes)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        """The first value of header `name`, or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)


def http_get(url, *, timeout_s=60.0, max_bytes=256 << 20):
    """GET `url` and read its whole body: a `Response`, whatever its status (redirects
    are not followed, and no proxy is used, in a component as natively). Raises
    `InvalidParams` for a URL that is not http(s), and `Failed` naming the URL when no
    answer comes (refused, denied by the host, timed out after `timeout_s` seconds of
    silence) or the body is over `max_bytes`."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidParams(f"not an http(s) URL: {url!r}")
    if not timeout_s > 0 or max_bytes < 0:
        raise ValueError("http_get: timeout_s must be positive and max_bytes not negative")
    return _http_get(url, float(timeout_s), int(max_bytes))


def _read_capped(stream, max_bytes, url):
    """The whole body, read 64 KiB at a time; `Failed` past `max_bytes`."""
    chunks, size = [], 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise Failed(f"GET {url}: the body is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _urllib_get(url, timeout_s, max_bytes):
    """`http_get` with urllib: no redirects, no proxies (as in a component)."""
    import http.client
    import socket
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": "owbench-workload"})
    try:
        with opener.open(request, timeout=timeout_s) as answer:
            status, headers = answer.status, answer.headers
            body = _read_capped(answer, max_bytes, url)
    except urllib.error.HTTPError as e:
        with e:
            status, headers = e.code, e.headers
            body = _read_capped(e, max_bytes, url)
    except (http.client.InvalidURL, ValueError) as e:
        raise InvalidParams(f"not a valid URL: {url!r} ({e})") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        # The component's words for the common failures.
        if isinstance(reason, ConnectionRefusedError):
            reason = "connection refused"
        elif isinstance(reason, (TimeoutError, socket.timeout)):
            reason = "connection timeout"
        raise Failed(f"GET {url}: {reason}") from None
    return Response(status, [(k.lower(), v) for k, v in headers.items()], body)


_http_get = _urllib_get
