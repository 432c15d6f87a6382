"""moto's AWS server on loopback, with request authentication on, for owbench's tests.

Prints one JSON line: the endpoint, an IAM user's access key (allowed everything) and an
AMI id; then serves until stdin closes (the test ends). Started by the test setup:
`python moto_server.py`.
"""

import json
import os
import sys

# Signatures are checked from the fifth request on: the four before make the IAM user.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
# RunInstances refuses unknown images, as EC2 does.
os.environ["MOTO_ENABLE_AMI_VALIDATION"] = "true"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"

unsigned = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
)
iam = boto3.client("iam", **unsigned)
iam.create_user(UserName="owbench")
policy = iam.create_policy(
    PolicyName="everything",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    ),
)
iam.attach_user_policy(UserName="owbench", PolicyArn=policy["Policy"]["Arn"])
key = iam.create_access_key(UserName="owbench")["AccessKey"]

ec2 = boto3.client(
    "ec2",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key["AccessKeyId"],
    aws_secret_access_key=key["SecretAccessKey"],
)
image = ec2.describe_images()["Images"][0]["ImageId"]

print(
    json.dumps(
        {
            "endpoint": endpoint,
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
            "image": image,
        }
    ),
    flush=True,
)
sys.stdin.read()
server.stop()
