"""Check a SigV4 presigned URL with botocore (the AWS SDK for Python): sign the same URL,
at the same time, with the same credentials, and print both signatures as JSON.

    python sigv4_presigned.py URL ACCESS_KEY_ID SECRET_ACCESS_KEY
"""

import datetime
import json
import sys
import urllib.parse
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, key_id, secret = sys.argv[1:4]
parts = urllib.parse.urlsplit(url)
query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
params = dict(query)
unsigned = [(k, v) for k, v in query if not k.startswith("X-Amz-")]
base = urllib.parse.urlunsplit(
    (parts.scheme, parts.netloc, parts.path, urllib.parse.urlencode(unsigned), "")
)
when = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
_, _, region, service, _ = params["X-Amz-Credential"].split("/")
request = AWSRequest(method="GET", url=base)
with mock.patch("botocore.auth.get_current_datetime", return_value=when):
    botocore.auth.S3SigV4QueryAuth(
        Credentials(key_id, secret), service, region, expires=int(params["X-Amz-Expires"])
    ).add_auth(request)
signed = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
print(json.dumps({"botocore": signed["X-Amz-Signature"], "ours": params["X-Amz-Signature"]}))
