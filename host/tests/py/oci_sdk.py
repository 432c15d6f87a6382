"""The official OCI SDK for Python (PyPI `oci`), for owbench's tests.

    python oci_sdk.py keygen PEM_PATH
        Make a 2048-bit RSA API key (PKCS#8 PEM) and print its OCI fingerprint (the MD5
        of the public key's DER, as the console shows it).

    python oci_sdk.py sign < CASES_JSON
        CASES_JSON: {"key_file", "tenancy", "user", "fingerprint", "requests": [{"method",
        "url", "date", "body" (text or null), "object_upload" (bool)}]}. Sign each request
        with `oci.signer.Signer` as the SDK's clients do (an object upload as
        `put_object` does: without the content headers) and print, as one JSON list, the
        headers the signer set or used: authorization, date, host, content-type,
        content-length, x-content-sha256.

    python oci_sdk.py client ENDPOINT CONFIG_JSON
        Drive the SDK's own ComputeClient and ObjectStorageClient against ENDPOINT (the
        project's OCI test server) with the config in CONFIG_JSON (user, tenancy,
        fingerprint, key_file, compartment, subnet, image): launch, get, list, stop,
        terminate, namespace, bucket, put, pre-authenticated GET. Prints "ok".
"""

import hashlib
import json
import sys

import oci
from oci._vendor import requests  # the one the SDK signs with
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def keygen(path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der).hexdigest()
    print(":".join(digest[i : i + 2] for i in range(0, len(digest), 2)))


def sign(cases):
    signer = oci.signer.Signer(
        cases["tenancy"],
        cases["user"],
        cases["fingerprint"],
        private_key_file_location=cases["key_file"],
    )
    out = []
    for case in cases["requests"]:
        body = case.get("body")
        request = requests.Request(
            case["method"],
            case["url"],
            headers={"date": case["date"]},
            data=body.encode() if body is not None else None,
        ).prepare()
        signer(request, enforce_content_headers=not case.get("object_upload", False))
        headers = {k.lower(): v for k, v in request.headers.items()}
        keep = ["authorization", "date", "host", "content-type", "content-length", "x-content-sha256"]
        out.append({k: headers[k] for k in keep if k in headers})
    print(json.dumps(out))


def client(endpoint, config):
    import datetime
    import urllib.request

    config = dict(config, region="us-phoenix-1")
    compute = oci.core.ComputeClient(config, service_endpoint=endpoint)
    details = oci.core.models.LaunchInstanceDetails(
        availability_domain="Uocm:PHX-AD-1",
        compartment_id=config["compartment"],
        shape="VM.Standard2.1",
        source_details=oci.core.models.InstanceSourceViaImageDetails(image_id=config["image"]),
        create_vnic_details=oci.core.models.CreateVnicDetails(subnet_id=config["subnet"]),
        freeform_tags={"owbench-cluster": "sdk"},
    )
    instance = compute.launch_instance(details).data
    assert compute.get_instance(instance.id).data.lifecycle_state == "RUNNING"
    listed = oci.pagination.list_call_get_all_results(compute.list_instances, config["compartment"]).data
    assert instance.id in [i.id for i in listed]
    compute.instance_action(instance.id, "STOP")
    compute.terminate_instance(instance.id)
    storage = oci.object_storage.ObjectStorageClient(config, service_endpoint=endpoint)
    ns = storage.get_namespace().data
    storage.create_bucket(ns, oci.object_storage.models.CreateBucketDetails(name="sdk", compartment_id=config["compartment"]))
    storage.put_object(ns, "sdk", "dir/object.bin", b"from the official SDK")
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    par = storage.create_preauthenticated_request(
        ns,
        "sdk",
        oci.object_storage.models.CreatePreauthenticatedRequestDetails(
            name="sdk", object_name="dir/object.bin", access_type="ObjectRead", time_expires=expires
        ),
    ).data
    assert urllib.request.urlopen(endpoint + par.access_uri).read() == b"from the official SDK"
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    elif sys.argv[1] == "sign":
        sign(json.load(sys.stdin))
    elif sys.argv[1] == "client":
        client(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
