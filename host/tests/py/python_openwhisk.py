"""A stock OpenWhisk with only its Python 3 runtimes, for owbench's tests, on loopback.

    python python_openwhisk.py AUTH

Prints `{"port": N}` once it listens on 127.0.0.1, and serves until its stdin closes. AUTH (`UUID:KEY`) is the one key it
accepts. It answers what owbench's client asks of OpenWhisk's REST API: `GET /` (the
runtimes: `python:3.10`, the default, `python:3.11`, and `python:3.9`, deprecated), `GET /api/v1/namespaces`, action PUT and GET (kept as sent:
`GET` gives the document back, code included, as OpenWhisk does), invocations and
activation records.

A Python action runs as OpenWhisk's ActionLoop Python runtime runs it: the `binary`
code is a zip, unpacked; its `__main__.py` becomes `main__.py`; a launcher imports
`main` from it, then reads one JSON line per activation on stdin (`{"value": PARAMS,
...}`, the other keys as `__OW_*` variables), calls `main(value)`, writes the result as
one JSON line on file descriptor 3 and an end marker on stdout and stderr. An exception
becomes `{"error": str(e)}`; a result with `error` is an application error (HTTP 502).
One process per action serves its activations one at a time, as one container does.
The interpreter runs with `-I -S`: only the standard library and what the zip carries.
"""

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

AUTH = sys.argv[1]
ROOT = tempfile.mkdtemp(prefix="python-openwhisk-")
END = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
RUNTIMES = {
    "python": [
        {"kind": "python:3.9", "image": "openwhisk/action-python-v3.9:nightly", "deprecated": True},
        {"kind": "python:3.10", "image": "openwhisk/action-python-v3.10:nightly", "default": True},
        {"kind": "python:3.11", "image": "openwhisk/action-python-v3.11:nightly"},
    ]
}
KINDS = [k["kind"] for k in RUNTIMES["python"] if not k.get("deprecated")]

LAUNCHER = r'''
import json, os, sys, traceback
sys.path.insert(0, os.getcwd())
from main__ import main as main
out = os.fdopen(3, "wb")
while True:
    line = sys.stdin.readline()
    if not line:
        break
    args = json.loads(line)
    payload = {}
    for key in args:
        if key == "value":
            payload = args["value"]
        else:
            os.environ["__OW_%s" % key.upper()] = str(args[key])
    res = {}
    try:
        res = main(payload)
    except Exception as ex:
        print(traceback.format_exc(), file=sys.stderr)
        res = {"error": str(ex)}
    out.write(json.dumps(res, ensure_ascii=False).encode("utf-8"))
    out.write(b"\n")
    sys.stdout.write("%s\n" % "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX")
    sys.stderr.write("%s\n" % "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX")
    sys.stdout.flush()
    sys.stderr.flush()
    out.flush()
'''

actions = {}  # name -> the document as PUT
containers = {}  # name -> Container
activations = {}  # id -> record
lock = threading.Lock()


class Container:
    """One action's unpacked code and its launcher process."""

    def __init__(self, name, doc):
        exec_ = doc["exec"]
        src = os.path.join(ROOT, name, uuid.uuid4().hex)
        os.makedirs(src)
        if exec_.get("binary"):
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(exec_["code"]))) as z:
                z.extractall(src)
            if os.path.exists(os.path.join(src, "__main__.py")):
                os.rename(os.path.join(src, "__main__.py"), os.path.join(src, "main__.py"))
        else:
            with open(os.path.join(src, "main__.py"), "w") as f:
                f.write(exec_["code"])
        with open(os.path.join(src, "exec__.py"), "w") as f:
            f.write(LAUNCHER)
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-u", "exec__.py"],
            cwd=src,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # The results pipe becomes descriptor 3 in the child (kept open there).
            pass_fds=(3,),
            preexec_fn=lambda: os.dup2(write, 3),
        )
        os.close(write)
        self.results = os.fdopen(read, "rb")
        self.lock = threading.Lock()

    def run(self, activation_id, params):
        """The result, or None if the process died; and the log lines."""
        with self.lock:
            line = {"value": params, "activation_id": activation_id, "action_name": "x"}
            try:
                self.process.stdin.write(json.dumps(line) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                pass
            result = self.results.readline()
            if not result:
                return None, [("stderr", self.process.stderr.read())]
            logs = []
            for stream, pipe in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
                for out in iter(pipe.readline, ""):
                    if out.rstrip("\n") == END:
                        break
                    logs.append((stream, out.rstrip("\n")))
            return json.loads(result), logs


def record(name, activation_id, start, end, wait, init, result, logs):
    failed = "error" in result
    return {
        "namespace": "guest",
        "name": name,
        "version": "0.0.1",
        "subject": "guest",
        "activationId": activation_id,
        "start": start,
        "end": end,
        "duration": end - start,
        "publish": False,
        "response": {
            "status": "application error" if failed else "success",
            "statusCode": 1 if failed else 0,
            "success": not failed,
            "result": result,
        },
        "logs": [f"2026-01-01T00:00:00.000000000Z {s}: {line}" for s, line in logs],
        "annotations": [
            {"key": "path", "value": f"guest/{name}"},
            {"key": "kind", "value": actions[name]["exec"]["kind"]},
            {"key": "waitTime", "value": wait},
        ]
        + ([{"key": "initTime", "value": init}] if init is not None else []),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if isinstance(body, dict) and "activationId" in body:
            self.send_header("x-openwhisk-activation-id", body["activationId"])
        self.end_headers()
        self.wfile.write(data)

    def authed(self):
        expected = "Basic " + base64.b64encode(AUTH.encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.answer(401, {"error": "The supplied authentication is invalid", "code": "x"})
            return False
        return True

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def route(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        return parts, parse_qs(url.query)

    def do_GET(self):
        parts, query = self.route()
        if not parts:
            return self.answer(200, {"description": "OpenWhisk", "runtimes": RUNTIMES})
        if not self.authed():
            return
        if parts == ["api", "v1", "namespaces"]:
            return self.answer(200, ["guest"])
        if len(parts) == 6 and parts[4] in ("actions", "activations"):
            kept = actions if parts[4] == "actions" else activations
            with lock:
                found = kept.get(parts[5])
            if found is None:
                return self.answer(404, {"error": "The requested resource does not exist."})
            return self.answer(200, found)
        if len(parts) == 5 and parts[4] == "activations":
            name = query.get("name", [None])[0]
            with lock:
                found = [a for a in activations.values() if name in (None, a["name"])]
            return self.answer(200, found)
        self.answer(404, {"error": "The requested resource does not exist."})

    def do_PUT(self):
        parts, _ = self.route()
        if not self.authed():
            return
        if len(parts) != 6 or parts[4] != "actions":
            return self.answer(404, {"error": "The requested resource does not exist."})
        doc = self.body()
        kind = doc.get("exec", {}).get("kind")
        if kind not in KINDS:
            valid = ", ".join(KINDS)
            return self.answer(
                400,
                {"error": f"The specified runtime '{kind}' is not supported by this platform. Valid values are: {valid}."},
            )
        name = parts[5]
        doc = dict(doc, name=name, namespace="guest", version="0.0.1")
        with lock:
            actions[name] = doc
            old = containers.pop(name, None)
        if old is not None:
            old.process.kill()
        self.answer(200, doc)

    def do_POST(self):
        parts, query = self.route()
        if not self.authed():
            return
        if len(parts) != 6 or parts[4] != "actions":
            return self.answer(404, {"error": "The requested resource does not exist."})
        name = parts[5]
        params = self.body()
        arrived = int(time.time() * 1000)
        with lock:
            doc = actions.get(name)
            if doc is None:
                return self.answer(404, {"error": "The requested resource does not exist."})
            container = containers.get(name)
            init = None
            if container is None:
                started = time.time()
                container = containers[name] = Container(name, doc)
                init = int((time.time() - started) * 1000)
        activation_id = uuid.uuid4().hex
        start = int(time.time() * 1000)
        result, logs = container.run(activation_id, params)
        end = int(time.time() * 1000)
        if result is None:
            result = {"error": "The action did not produce a valid response and exited unexpectedly."}
            with lock:
                containers.pop(name, None)
        rec = record(name, activation_id, start, end, start - arrived, init, result, logs)
        with lock:
            activations[activation_id] = rec
        if query.get("blocking", ["false"])[0] != "true":
            return self.answer(202, {"activationId": activation_id})
        self.answer(502 if "error" in result else 200, rec)

    def log_message(self, *args):
        pass


def stop_when_stdin_closes():
    sys.stdin.read()
    for container in list(containers.values()):
        container.process.kill()
    shutil.rmtree(ROOT, ignore_errors=True)
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
