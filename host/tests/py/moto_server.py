"""moto's AWS server on loopback, with request authentication on, for owbench's tests.

Prints one JSON line: the endpoint, an IAM user's access key (allowed everything) and an
AMI id; then serves until stdin closes (the test ends). Started by the test setup:
`python moto_server.py`.

Service Quotas also knows EC2's quota L-1216C47A (on-demand standard instances), at
EC2_STANDARD_VCPUS vCPUs.

Its AMIs (in every region) are AMIS below: Canonical's Ubuntu 24.04 in two builds for
amd64 (`ami-0noble2` the newer) and one for arm64, and an image of another owner whose
name would match the Ubuntu pattern, so that resolving `ubuntu-24.04` has something to
get wrong.
"""

import json
import os
import sys
import tempfile

CANONICAL = "099720109477"


def ami(ami_id, name, owner, arch, created):
    return {
        "ami_id": ami_id,
        "name": name,
        "owner_id": owner,
        "architecture": arch,
        "creation_date": created,
        "state": "available",
        "public": True,
        "image_type": "machine",
        "root_device_type": "ebs",
        "root_device_name": "/dev/sda1",
        "virtualization_type": "hvm",
        "hypervisor": "xen",
        "description": name,
    }


NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{}-server-{}"
AMIS = [
    ami("ami-0noble2", NOBLE.format("amd64", "20261101"), CANONICAL, "x86_64", "2026-11-01T00:00:00.000Z"),
    ami("ami-0noble1", NOBLE.format("amd64", "20260801"), CANONICAL, "x86_64", "2026-08-01T00:00:00.000Z"),
    ami("ami-0noblearm", NOBLE.format("arm64", "20261101"), CANONICAL, "arm64", "2026-11-01T00:00:00.000Z"),
    ami("ami-0imposter", NOBLE.format("amd64", "20261201"), "123456789012", "x86_64", "2026-12-01T00:00:00.000Z"),
]
amis = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
json.dump(AMIS, amis)
amis.close()
os.environ["MOTO_AMIS_PATH"] = amis.name

# Signatures are checked from the fifth request on: the four before make the IAM user.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
# RunInstances refuses unknown images, as EC2 does.
os.environ["MOTO_ENABLE_AMI_VALIDATION"] = "true"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.servicequotas import models as service_quotas  # noqa: E402

# moto's Service Quotas knows VPC quotas only. EC2's quota of on-demand standard
# instances, in vCPUs, is added at EC2_STANDARD_VCPUS, so that owbench's limits check has
# the quota AWS has.
EC2_STANDARD_VCPUS = 64
_get_service_quota = service_quotas.ServiceQuotasBackend.get_service_quota


def get_service_quota(self, service_code, quota_code):
    if (service_code, quota_code) == ("ec2", "L-1216C47A"):
        return {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:{self.region_name}::ec2/L-1216C47A",
            "QuotaCode": "L-1216C47A",
            "QuotaName": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
            "Value": float(EC2_STANDARD_VCPUS),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
    return _get_service_quota(self, service_code, quota_code)


service_quotas.ServiceQuotasBackend.get_service_quota = get_service_quota

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

image = "ami-0noble2"

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
os.unlink(amis.name)
