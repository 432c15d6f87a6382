"""Read back from moto what owbench's `aws-ec2` plugin made, with boto3, for owbench's
tests: the security groups and key pairs carrying a tag, each instance's user data,
shutdown behaviour and metadata options, and the S3 buckets with their objects.

    python aws_read_back.py ENDPOINT KEY_ID SECRET TAG_KEY TAG_VALUE

Prints one JSON object: {"groups": [{"name", "rules": [{"protocol", "port", "cidrs"}]}],
"keys": [names], "instances": [{"id", "name", "private_ip", "user_data", "shutdown",
"http_tokens", "hop_limit"}], "volumes": [{"id", "type", "size", "iops", "state",
"instance", "delete_on_termination"}], "buckets": {name: [keys]}}. User data is shown as text
(decompressed when owbench sent it gzip-compressed).
"""

import base64
import gzip
import json
import sys

import boto3

endpoint, key_id, secret, tag_key, tag_value = sys.argv[1:6]
session = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key_id,
    aws_secret_access_key=secret,
)
ec2 = boto3.client("ec2", **session)
s3 = boto3.client("s3", **session)
tagged = [{"Name": f"tag:{tag_key}", "Values": [tag_value]}]

groups = []
for group in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]:
    rules = []
    for p in group["IpPermissions"]:
        cidrs = [r["CidrIp"] for r in p.get("IpRanges", [])]
        cidrs += [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])]
        rules.append({"protocol": p["IpProtocol"], "port": p.get("FromPort"), "cidrs": sorted(cidrs)})
    rules.sort(key=lambda r: (r["protocol"], r["port"]))
    groups.append({"name": group["GroupName"], "rules": rules})

keys = sorted(k["KeyName"] for k in ec2.describe_key_pairs(Filters=tagged)["KeyPairs"])

def text(user_data):
    """User data as text: owbench compresses what would not fit in 16 KB with gzip."""
    if user_data[:2] == b"\x1f\x8b":
        user_data = gzip.decompress(user_data)
    return user_data.decode()


instances = []
for reservation in ec2.describe_instances(Filters=tagged)["Reservations"]:
    for i in reservation["Instances"]:
        if i["State"]["Name"] == "terminated":
            continue
        attribute = lambda name: ec2.describe_instance_attribute(InstanceId=i["InstanceId"], Attribute=name)
        user_data = attribute("userData").get("UserData", {}).get("Value")
        shutdown = attribute("instanceInitiatedShutdownBehavior")["InstanceInitiatedShutdownBehavior"]["Value"]
        metadata = i.get("MetadataOptions", {})
        instances.append(
            {
                "id": i["InstanceId"],
                "name": next((t["Value"] for t in i.get("Tags", []) if t["Key"] == "Name"), None),
                "private_ip": i.get("PrivateIpAddress"),
                "user_data": text(base64.b64decode(user_data)) if user_data else None,
                "shutdown": shutdown,
                "http_tokens": metadata.get("HttpTokens"),
                "hop_limit": metadata.get("HttpPutResponseHopLimit"),
            }
        )

volumes = []
for v in ec2.describe_volumes(Filters=tagged)["Volumes"]:
    attached = v.get("Attachments", [])
    volumes.append(
        {
            "id": v["VolumeId"],
            "type": v["VolumeType"],
            "size": v["Size"],
            "iops": v.get("Iops"),
            "state": v["State"],
            "instance": attached[0]["InstanceId"] if attached else None,
            "delete_on_termination": attached[0].get("DeleteOnTermination") if attached else None,
        }
    )
volumes.sort(key=lambda v: (v["instance"] or "", v["size"]))

buckets = {}
for bucket in s3.list_buckets()["Buckets"]:
    listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
    buckets[bucket["Name"]] = sorted(o["Key"] for o in listed)

print(json.dumps({"groups": groups, "keys": keys, "instances": instances, "volumes": volumes, "buckets": buckets}))
