"""A loopback test server for the part of Oracle Cloud's API owbench's `oci` plugin uses,
which verifies every request's OCI HTTP signature, for owbench's tests.

    python oci_server.py PUBLIC_KEY_PEM KEY_ID

Prints one JSON line (the endpoint, the namespace, and the OCIDs of a compartment, a
subnet and an image it knows), then serves until stdin closes (the test ends).

Signatures are checked as OCI checks them: `Signature` authorization with version 1,
rsa-sha256 and the expected key id; the signed headers must include `date
(request-target) host` and, for POST/PUT/PATCH other than an object upload, also
`content-length content-type x-content-sha256`, whose values must match the body; the
date must be within 5 minutes; the RSA-SHA256 PKCS#1 v1.5 signature must verify
against the public key. A failure answers 401 NotAuthenticated.

Served (Core Services 20160918, Identity, Object Storage): availabilityDomains; images
(ListImages by operating system, version and shape, newest first);
instances (LaunchInstance with opc-retry-token, GetInstance, ListInstances paged by
`opc-next-page` with at most PAGE_MAX per page, InstanceAction START/STOP,
TerminateInstance); vnicAttachments, vnics, subnets, securityLists (get, update);
Object Storage namespace, buckets (create, get, delete when empty of objects and
pre-authenticated requests), PutObject, GetObject, ListObjects (paged by `start`, at
most PAGE_MAX per page), DeleteObject, pre-authenticated requests (create, list paged by
`opc-next-page`, delete)
and the unauthenticated `/p/...` download. Block volumes: LaunchInstance's
`launchVolumeAttachments` (paravirtualized, created from attributes: 50 GB to 32 TB,
0/10/20 VPUs per GB) makes a volume and attaches it; ListVolumeAttachments (by
instance), GetVolume; TerminateInstance deletes them only with
`preserveDataVolumesCreatedAtLaunch=false`, else detaches them. Limits (20190729):
GetResourceAvailability of `compute` `*-core-count` and `vm-standard-e2-1-micro-count`,
and `block-storage` `total-storage-gb` (an unknown limit is 404). At most MICRO_LIMIT live VM.Standard.E2.1.Micro
instances (more gets 400 LimitExceeded, as a service limit does). Instances move on one state per read
(PROVISIONING -> RUNNING, STOPPING -> STOPPED, STARTING -> RUNNING, TERMINATING ->
TERMINATED).

Test controls (no signature): `GET /_test/instances` lists every instance;
`GET /_test/storage` shows the buckets with their object names, the number of
pre-authenticated requests and the security list's ingress rules;
`POST /_test/throttle?count=N` answers the next N API requests with 429;
`POST /_test/deny-uploads?on=1` refuses every PutObject (404 NotAuthorizedOrNotFound)
until `on=0`;
`GET /_test/volumes` lists every volume with its attachment;
`POST /_test/limit?name=L&available=N` sets what limit L has available;
`POST /_test/slow?ms=N` makes each LaunchInstance wait N ms before it creates anything
(the client may be gone by then, as after a Ctrl-C); `GET /_test/pending` is the number
of launches in flight.
"""

import base64
import datetime
import email.utils
import hashlib
import json
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PAGE_MAX = 2
COMPARTMENT = "ocid1.compartment.oc1..owbenchtest"
SUBNET = "ocid1.subnet.oc1.phx.owbenchtest"
SECURITY_LIST = "ocid1.securitylist.oc1.phx.owbenchtest"
IMAGE = "ocid1.image.oc1.phx.ubuntu2404"
# Platform images (ListImages): two Ubuntu 24.04 builds for x86 shapes (IMAGE the newer)
# and one for the Ampere (A1) shape, newest of all.
IMAGES = [
    {"id": "ocid1.image.oc1.phx.ubuntu2404-old", "operatingSystem": "Canonical Ubuntu", "operatingSystemVersion": "24.04", "timeCreated": "2026-08-01T00:00:00+00:00", "arch": "x86"},
    {"id": IMAGE, "operatingSystem": "Canonical Ubuntu", "operatingSystemVersion": "24.04", "timeCreated": "2026-11-01T00:00:00+00:00", "arch": "x86"},
    {"id": "ocid1.image.oc1.phx.ubuntu2404-aarch64", "operatingSystem": "Canonical Ubuntu", "operatingSystemVersion": "24.04", "timeCreated": "2026-11-15T00:00:00+00:00", "arch": "arm"},
]
NAMESPACE = "owbenchns"
SHAPES = {
    "VM.Standard.E2.1.Micro",
    "VM.Standard2.1",
    "VM.Standard2.2",
    "VM.Standard.E4.Flex",
    "VM.Standard.E5.Flex",
    "VM.Standard3.Flex",
    "VM.Standard.A1.Flex",
    "VM.DenseIO2.8",
}
GENERIC = ["date", "(request-target)", "host"]
BODY = ["content-length", "content-type", "x-content-sha256"]
# The Always Free limit: two VM.Standard.E2.1.Micro instances per tenancy.
MICRO_LIMIT = 2
NEXT = {"PROVISIONING": "RUNNING", "STARTING": "RUNNING", "STOPPING": "STOPPED", "TERMINATING": "TERMINATED"}

public_key = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
key_id = sys.argv[2]
lock = threading.Lock()
instances = {}  # id -> instance
volumes = {}  # id -> volume
attachments = {}  # id -> volume attachment
# What each limit has available (GetResourceAvailability); `used` is not tracked.
limits = {
    ("compute", name): 1000
    for name in (
        "standard2-core-count",
        "standard-e4-core-count",
        "standard-e5-core-count",
        "standard3-core-count",
        "standard-a1-core-count",
        "dense-io2-core-count",
        "vm-standard-e2-1-micro-count",
        "standard-e4-memory-count",
        "standard-e5-memory-count",
        "standard3-memory-count",
        "standard-a1-memory-count",
    )
}
limits[("block-storage", "total-storage-gb")] = 100000
retry_tokens = {}  # opc-retry-token -> instance id
security_list = {"id": SECURITY_LIST, "compartmentId": COMPARTMENT, "ingressSecurityRules": [], "egressSecurityRules": [], "etag": "1"}
buckets = {}  # name -> {name: bytes}
pars = {}  # token -> (bucket, object, expires, name)
throttle = {"count": 0}
deny = {"uploads": False}  # PutObject refused, as for a user without Object Storage rights
slow = {"launch_ms": 0, "pending": 0}  # LaunchInstance delay; launches in flight


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def verify(handler, body):
    """Raise ApiError(401) unless the request carries a valid OCI signature."""
    auth = handler.headers.get("authorization", "")
    if not auth.startswith("Signature "):
        raise ApiError(401, "NotAuthenticated", "The required information to complete authentication was not provided.")
    params = dict(re.findall(r'(\w+)="([^"]*)"', auth))
    if params.get("version") != "1" or params.get("algorithm") != "rsa-sha256":
        raise ApiError(401, "NotAuthenticated", "Unsupported signature version or algorithm.")
    if params.get("keyId") != key_id:
        raise ApiError(401, "NotAuthenticated", f"Unknown key id {params.get('keyId')}.")
    signed = params.get("headers", "").split(" ")
    method = handler.command.lower()
    path = urllib.parse.urlsplit(handler.path).path
    upload = method == "put" and re.match(r"^/n/[^/]+/b/[^/]+/o/.+", path)
    required = GENERIC + (BODY if method in ("post", "put", "patch") and not upload else [])
    missing = [h for h in required if h not in signed]
    if missing:
        raise ApiError(401, "NotAuthenticated", f"Signature does not cover required headers {missing}.")
    date = handler.headers.get("date")
    if not date or abs(time.time() - email.utils.parsedate_to_datetime(date).timestamp()) > 300:
        raise ApiError(401, "NotAuthenticated", "Date header missing or more than 5 minutes off.")
    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if handler.headers.get("x-content-sha256") != digest:
            raise ApiError(401, "NotAuthenticated", "x-content-sha256 does not match the body.")
        if handler.headers.get("content-length") != str(len(body)):
            raise ApiError(401, "NotAuthenticated", "content-length does not match the body.")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method} {handler.path}")
        else:
            value = handler.headers.get(name)
            if value is None:
                raise ApiError(401, "NotAuthenticated", f"Signed header {name} is missing.")
            lines.append(f"{name}: {value}")
    try:
        public_key.verify(
            base64.b64decode(params.get("signature", "")),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        raise ApiError(401, "NotAuthenticated", "The signature does not verify.")


def advance(instance):
    state = instance["lifecycleState"]
    if state in NEXT:
        instance["lifecycleState"] = NEXT[state]
    return instance


def vnic_of(instance):
    n = int(hashlib.sha256(instance["id"].encode()).hexdigest()[:4], 16)
    return {
        "id": instance["id"].replace("instance", "vnic"),
        "privateIp": f"10.0.{n // 250 % 250}.{n % 250 + 2}",
        "publicIp": f"203.0.113.{n % 250 + 1}",
        "subnetId": SUBNET,
        "lifecycleState": "AVAILABLE",
    }


def launch(body, token):
    for field in ("availabilityDomain", "compartmentId", "shape", "sourceDetails", "createVnicDetails"):
        if field not in body:
            raise ApiError(400, "MissingParameter", f"Missing {field}.")
    if body["compartmentId"] != COMPARTMENT:
        raise ApiError(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found (compartment).")
    if body["shape"] not in SHAPES:
        raise ApiError(400, "InvalidParameter", f"Shape {body['shape']} is not valid.")
    if body["shape"].endswith(".Flex") and "shapeConfig" not in body:
        raise ApiError(400, "InvalidParameter", "A flexible shape needs shapeConfig.")
    if body["sourceDetails"].get("imageId") != IMAGE:
        raise ApiError(404, "NotAuthorizedOrNotFound", f"Image {body['sourceDetails'].get('imageId')} not found.")
    if body["createVnicDetails"].get("subnetId") != SUBNET:
        raise ApiError(404, "NotAuthorizedOrNotFound", "Subnet not found.")
    user_data = body.get("metadata", {}).get("user_data")
    if user_data is not None:
        base64.b64decode(user_data, validate=True)
    if token and token in retry_tokens:
        return instances[retry_tokens[token]]
    if body["shape"] == "VM.Standard.E2.1.Micro":
        live = [i for i in instances.values() if i["shape"] == body["shape"] and i["lifecycleState"] not in ("TERMINATING", "TERMINATED")]
        if len(live) >= MICRO_LIMIT:
            raise ApiError(400, "LimitExceeded", f"The service limit of {MICRO_LIMIT} VM.Standard.E2.1.Micro instances is reached.")
    instance = {
        "id": f"ocid1.instance.oc1.phx.{uuid.uuid4().hex}",
        "availabilityDomain": body["availabilityDomain"],
        "compartmentId": body["compartmentId"],
        "displayName": body.get("displayName", ""),
        "shape": body["shape"],
        "shapeConfig": body.get("shapeConfig"),
        "imageId": IMAGE,
        "freeformTags": body.get("freeformTags", {}),
        "metadata": body.get("metadata", {}),
        "lifecycleState": "PROVISIONING",
        "timeCreated": now(),
    }
    attach_all = [launch_volume(instance, attach) for attach in body.get("launchVolumeAttachments", [])]
    instances[instance["id"]] = instance
    for attach in attach_all:
        attach()
    if token:
        retry_tokens[token] = instance["id"]
    return instance


def launch_volume(instance, attach):
    """Check one of LaunchInstance's launchVolumeAttachments; what makes the volume and
    attaches it, once the instance is made."""
    details = attach.get("launchCreateVolumeDetails") or {}
    if attach.get("type") != "paravirtualized" or details.get("volumeCreationType") != "ATTRIBUTES":
        raise ApiError(400, "InvalidParameter", "Only paravirtualized attachments of volumes created from attributes.")
    size, vpus = details.get("sizeInGBs"), details.get("vpusPerGB", 10)
    if not isinstance(size, int) or not 50 <= size <= 32768:
        raise ApiError(400, "InvalidParameter", f"sizeInGBs must be 50 to 32768, got {size}.")
    if vpus not in (0, 10, 20, 30):
        raise ApiError(400, "InvalidParameter", f"vpusPerGB {vpus} is not offered.")
    return lambda: make_volume(instance, attach, details, size, vpus)


def make_volume(instance, attach, details, size, vpus):
    volume = {
        "id": f"ocid1.volume.oc1.phx.{uuid.uuid4().hex}",
        "compartmentId": details.get("compartmentId", instance["compartmentId"]),
        "availabilityDomain": instance["availabilityDomain"],
        "displayName": details.get("displayName", ""),
        "sizeInGBs": size,
        "vpusPerGB": vpus,
        "lifecycleState": "AVAILABLE",
        "launchedWith": instance["id"],
    }
    volumes[volume["id"]] = volume
    attachment = {
        "id": f"ocid1.volumeattachment.oc1.phx.{uuid.uuid4().hex}",
        "attachmentType": "paravirtualized",
        "instanceId": instance["id"],
        "volumeId": volume["id"],
        "device": attach.get("device"),
        "compartmentId": instance["compartmentId"],
        "lifecycleState": "ATTACHED",
    }
    attachments[attachment["id"]] = attachment


def instance_or_404(iid):
    if iid not in instances:
        raise ApiError(404, "NotAuthorizedOrNotFound", f"Instance {iid} not found.")
    return instances[iid]


def route(method, path, query, body, headers):
    """The (status, JSON-able or bytes, extra headers) of one API request."""
    q = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    if parts[:1] == ["20160918"]:
        rest = parts[1:]
        if rest == ["availabilityDomains"] and method == "GET":
            return 200, [{"name": "Uocm:PHX-AD-1", "compartmentId": q.get("compartmentId")}], {}
        if rest == ["images"] and method == "GET":
            shape = q.get("shape")
            arch = "arm" if shape and ".A1." in shape else "x86"
            found = [
                {k: v for k, v in i.items() if k != "arch"}
                for i in IMAGES
                if i["operatingSystem"] == q.get("operatingSystem")
                and i["operatingSystemVersion"] == q.get("operatingSystemVersion")
                and (shape is None or i["arch"] == arch)
            ]
            found.sort(key=lambda i: i["timeCreated"], reverse=q.get("sortOrder") == "DESC")
            return 200, found[: int(q.get("limit", "100"))], {}
        if rest == ["instances"] and method == "POST":
            return 200, launch(json.loads(body), headers.get("opc-retry-token")), {}
        if rest == ["instances"] and method == "GET":
            if q.get("compartmentId") != COMPARTMENT:
                raise ApiError(404, "NotAuthorizedOrNotFound", "Compartment not found.")
            every = sorted(instances.values(), key=lambda i: i["timeCreated"])
            start = int(q.get("page", "0"))
            limit = min(int(q.get("limit", PAGE_MAX)), PAGE_MAX)
            page = [advance(i) for i in every[start : start + limit]]
            extra = {"opc-next-page": str(start + limit)} if start + limit < len(every) else {}
            return 200, page, extra
        if len(rest) == 2 and rest[0] == "instances":
            instance = instance_or_404(rest[1])
            if method == "GET":
                return 200, advance(instance), {}
            if method == "DELETE":
                if instance["lifecycleState"] not in ("TERMINATING", "TERMINATED"):
                    instance["lifecycleState"] = "TERMINATING"
                    delete_launched = q.get("preserveDataVolumesCreatedAtLaunch") == "false"
                    for attachment in attachments.values():
                        if attachment["instanceId"] == instance["id"] and attachment["lifecycleState"] == "ATTACHED":
                            attachment["lifecycleState"] = "DETACHED"
                            volume = volumes[attachment["volumeId"]]
                            if delete_launched and volume.get("launchedWith") == instance["id"]:
                                volume["lifecycleState"] = "TERMINATED"
                return 204, None, {}
            if method == "POST":
                action, state = q.get("action"), instance["lifecycleState"]
                if action == "START" and state in ("STOPPED", "STOPPING"):
                    instance["lifecycleState"] = "STARTING"
                elif action in ("STOP", "SOFTSTOP") and state in ("RUNNING", "STARTING", "PROVISIONING"):
                    instance["lifecycleState"] = "STOPPING"
                elif not (action == "START" and state in ("RUNNING", "STARTING")) and not (
                    action in ("STOP", "SOFTSTOP") and state == "STOPPED"
                ):
                    raise ApiError(409, "IncorrectState", f"Instance is {state}; cannot {action}.")
                return 200, instance, {}
        if rest == ["volumeAttachments"] and method == "GET":
            if q.get("compartmentId") != COMPARTMENT:
                raise ApiError(404, "NotAuthorizedOrNotFound", "Compartment not found.")
            found = [a for a in attachments.values() if q.get("instanceId") in (None, a["instanceId"])]
            return 200, found, {}
        if len(rest) == 2 and rest[0] == "volumes" and method == "GET":
            if rest[1] not in volumes:
                raise ApiError(404, "NotAuthorizedOrNotFound", f"Volume {rest[1]} not found.")
            return 200, {k: v for k, v in volumes[rest[1]].items() if k != "launchedWith"}, {}
        if rest == ["vnicAttachments"] and method == "GET":
            instance = instances.get(q.get("instanceId"))
            if instance is None or instance["lifecycleState"] in ("PROVISIONING", "TERMINATED"):
                return 200, [], {}
            vnic = vnic_of(instance)
            return 200, [{"id": vnic["id"] + "-att", "instanceId": instance["id"], "vnicId": vnic["id"], "lifecycleState": "ATTACHED"}], {}
        if len(rest) == 2 and rest[0] == "vnics" and method == "GET":
            for instance in instances.values():
                if vnic_of(instance)["id"] == rest[1]:
                    return 200, vnic_of(instance), {}
            raise ApiError(404, "NotAuthorizedOrNotFound", "VNIC not found.")
        if rest == ["subnets", SUBNET] and method == "GET":
            return 200, {"id": SUBNET, "compartmentId": COMPARTMENT, "cidrBlock": "10.0.0.0/24", "securityListIds": [SECURITY_LIST]}, {}
        if rest == ["securityLists", SECURITY_LIST]:
            if method == "PUT":
                if headers.get("if-match") not in (None, security_list["etag"]):
                    raise ApiError(412, "NoEtagMatch", "The security list changed.")
                update = json.loads(body)
                for field in ("ingressSecurityRules", "egressSecurityRules"):
                    if field in update:
                        security_list[field] = update[field]
                security_list["etag"] = str(int(security_list["etag"]) + 1)
            return 200, {k: v for k, v in security_list.items() if k != "etag"}, {"etag": security_list["etag"]}
        raise ApiError(404, "NotAuthorizedOrNotFound", f"No such resource {method} {path}.")
    if parts[:2] == ["20190729", "services"] and len(parts) == 6 and parts[3] == "limits" and parts[5] == "resourceAvailability" and method == "GET":
        if q.get("compartmentId") != COMPARTMENT:
            raise ApiError(404, "NotAuthorizedOrNotFound", "Compartment not found.")
        key = (parts[2], parts[4])
        if key not in limits:
            raise ApiError(404, "NotFound", f"No limit {parts[4]} in service {parts[2]}.")
        # Compute limits are scoped to an availability domain; block storage's to the region.
        if (parts[2] == "compute") != bool(q.get("availabilityDomain")):
            raise ApiError(400, "InvalidParameter", f"The scope of {parts[4]} is {'AD' if parts[2] == 'compute' else 'REGION'}.")
        return 200, {"used": 0, "available": limits[key]}, {}
    if parts[:1] == ["n"]:
        if len(parts) == 1 or parts[1] == "":
            return 200, NAMESPACE, {}
        if parts[1] != NAMESPACE:
            raise ApiError(404, "NamespaceNotFound", f"Namespace {parts[1]} not found.")
        if parts[2:] == ["b"] and method == "POST":
            name = json.loads(body)["name"]
            if name in buckets:
                raise ApiError(409, "BucketAlreadyExists", f"Bucket {name} already exists.")
            buckets[name] = {}
            return 200, {"name": name, "namespace": NAMESPACE}, {}
        if len(parts) >= 4 and parts[2] == "b":
            bucket = parts[3]
            if bucket not in buckets:
                raise ApiError(404, "BucketNotFound", f"Bucket {bucket} does not exist.")
            if len(parts) == 4 and method in ("GET", "HEAD"):
                return 200, {"name": bucket, "namespace": NAMESPACE}, {}
            if len(parts) == 4 and method == "DELETE":
                if buckets[bucket] or any(p[0] == bucket for p in pars.values()):
                    raise ApiError(409, "BucketNotEmpty", f"Bucket {bucket} is not empty (objects or pre-authenticated requests).")
                del buckets[bucket]
                return 204, None, {}
            if parts[4:] == ["o"] and method == "GET":
                names = sorted(n for n in buckets[bucket] if n >= q.get("start", ""))
                page = {"objects": [{"name": n} for n in names[:PAGE_MAX]]}
                if len(names) > PAGE_MAX:
                    page["nextStartWith"] = names[PAGE_MAX]
                return 200, page, {}
            if len(parts) >= 6 and parts[4] == "o":
                name = "/".join(parts[5:])
                if method == "PUT":
                    if deny["uploads"]:
                        raise ApiError(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
                    buckets[bucket][name] = body
                    return 200, None, {"etag": hashlib.md5(body).hexdigest()}
                if method == "GET" and name in buckets[bucket]:
                    return 200, buckets[bucket][name], {}
                if method == "DELETE" and name in buckets[bucket]:
                    del buckets[bucket][name]
                    return 204, None, {}
                raise ApiError(404, "ObjectNotFound", f"Object {name} not found.")
            if parts[4:] == ["p"] and method == "GET":
                listed = [{"id": t, "name": p[3], "objectName": p[1]} for t, p in pars.items() if p[0] == bucket]
                start = int(q.get("page", "0"))
                extra = {"opc-next-page": str(start + PAGE_MAX)} if start + PAGE_MAX < len(listed) else {}
                return 200, listed[start : start + PAGE_MAX], extra
            if len(parts) == 6 and parts[4] == "p" and method == "DELETE":
                if pars.get(parts[5], (None,))[0] != bucket:
                    raise ApiError(404, "NotFound", f"Pre-authenticated request {parts[5]} not found.")
                del pars[parts[5]]
                return 204, None, {}
            if parts[4:] == ["p"] and method == "POST":
                par = json.loads(body)
                if par.get("accessType") != "ObjectRead" or par.get("objectName") not in buckets[bucket]:
                    raise ApiError(400, "InvalidParameter", "Only ObjectRead of an existing object.")
                expires = datetime.datetime.fromisoformat(par["timeExpires"].replace("Z", "+00:00"))
                token = uuid.uuid4().hex
                pars[token] = (bucket, par["objectName"], expires, par.get("name"))
                uri = f"/p/{token}/n/{NAMESPACE}/b/{bucket}/o/{urllib.parse.quote(par['objectName'], safe='')}"
                return 200, {"id": token, "name": par.get("name"), "accessUri": uri, "objectName": par["objectName"], "timeExpires": par["timeExpires"]}, {}
    raise ApiError(404, "NotAuthorizedOrNotFound", f"No such resource {method} {path}.")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, payload, extra=None):
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/octet-stream" if isinstance(payload, bytes) else "application/json")
        self.send_header("opc-request-id", uuid.uuid4().hex)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if status != 204:
            self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        """The request body, whole: by content-length, or chunked (as hyper sends a body of
        unknown length, an empty one included)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        body = self.read_body()
        split = urllib.parse.urlsplit(self.path)
        if self.command == "POST" and split.path.rstrip("/") == "/20160918/instances":
            with lock:
                slow["pending"] += 1
                delay = slow["launch_ms"]
            time.sleep(delay / 1000)
            try:
                self.respond(split, body)
            finally:
                with lock:
                    slow["pending"] -= 1
        else:
            self.respond(split, body)

    def respond(self, split, body):
        with lock:
            try:
                if split.path == "/_test/instances":
                    return self.answer(200, list(instances.values()))
                if split.path == "/_test/storage":
                    listing = {b: sorted(objects) for b, objects in buckets.items()}
                    return self.answer(200, {"buckets": listing, "pars": len(pars), "rules": security_list["ingressSecurityRules"]})
                if split.path == "/_test/volumes":
                    listed = [dict(v, attachments=[a for a in attachments.values() if a["volumeId"] == v["id"]]) for v in volumes.values()]
                    return self.answer(200, listed)
                if split.path == "/_test/limit":
                    query = urllib.parse.parse_qs(split.query)
                    name = query["name"][0]
                    service = "block-storage" if name == "total-storage-gb" else "compute"
                    limits[(service, name)] = int(query["available"][0])
                    return self.answer(204, None)
                if split.path == "/_test/slow":
                    slow["launch_ms"] = int(urllib.parse.parse_qs(split.query)["ms"][0])
                    return self.answer(204, None)
                if split.path == "/_test/pending":
                    return self.answer(200, slow["pending"])
                if split.path == "/_test/deny-uploads":
                    deny["uploads"] = urllib.parse.parse_qs(split.query)["on"][0] == "1"
                    return self.answer(204, None)
                if split.path == "/_test/throttle":
                    throttle["count"] = int(urllib.parse.parse_qs(split.query)["count"][0])
                    return self.answer(204, None)
                if split.path.startswith("/p/") and self.command == "GET":
                    token, rest = split.path[3:].split("/", 1)
                    bucket, name, expires, _ = pars.get(token, (None, None, None, None))
                    if token not in pars or expires < datetime.datetime.now(datetime.timezone.utc):
                        raise ApiError(404, "NotAuthorizedOrNotFound", "No such pre-authenticated request.")
                    return self.answer(200, buckets[bucket][name])
                verify(self, body)
                if throttle["count"] > 0:
                    throttle["count"] -= 1
                    raise ApiError(429, "TooManyRequests", "Too many requests for the tenancy.")
                status, payload, extra = route(self.command, split.path, split.query, body, self.headers)
                self.answer(status, payload, extra)
            except ApiError as e:
                self.answer(e.status, {"code": e.code, "message": e.message})
            except (ValueError, KeyError) as e:
                self.answer(400, {"code": "InvalidParameter", "message": f"Bad request: {e}"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
host, port = server.server_address
print(
    json.dumps(
        {
            "endpoint": f"http://{host}:{port}",
            "namespace": NAMESPACE,
            "compartment": COMPARTMENT,
            "subnet": SUBNET,
            "image": IMAGE,
        }
    ),
    flush=True,
)
sys.stdin.read()
server.shutdown()
