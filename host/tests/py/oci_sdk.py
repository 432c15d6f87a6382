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


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    elif sys.argv[1] == "sign":
        sign(json.load(sys.stdin))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
