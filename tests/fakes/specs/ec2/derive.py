#!/usr/bin/env python3
"""derive.py [API_SPECS_DIR] - regenerate ec2-subset.json from botocore's EC2 model.

Keeps the operations dm-driver-amazonec2 calls and every shape they reach
(input and output, transitively), without the documentation strings, so the
fake (tests/fakes/fake_ec2.py) can check requests and shape replies on a clean
clone that has no shared/api-specs.  Default API_SPECS_DIR: ../shared/api-specs
relative to the repository.  Nothing is changed but what is dropped.
"""
import json
import os
import sys

OPS = [
    "DescribeAccountAttributes", "DescribeSubnets", "DescribeImages", "DescribeInstanceTypes",
    "DescribeKeyPairs", "ImportKeyPair", "DeleteKeyPair",
    "DescribeSecurityGroups", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "DeleteSecurityGroup",
    "RunInstances", "RequestSpotInstances", "DescribeSpotInstanceRequests", "CancelSpotInstanceRequests",
    "CreateTags", "DescribeInstances", "StartInstances", "StopInstances", "RebootInstances",
    "TerminateInstances",
]
DROP = ("documentation", "documentationUrl", "deprecatedMessage", "examples")


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in DROP}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.abspath(os.path.join(here, "../../../.."))
    specs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "..", "shared", "api-specs")
    with open(os.path.join(specs, "aws", "ec2", "service-2.json")) as f:
        model = json.load(f)
    shapes = model["shapes"]
    keep = {}

    def walk(name):
        if name in keep:
            return
        s = shapes[name]
        keep[name] = strip(s)
        for m in (s.get("members") or {}).values():
            walk(m["shape"])
        if "member" in s:
            walk(s["member"]["shape"])
        for k in ("key", "value"):
            if k in s:
                walk(s[k]["shape"])

    ops = {}
    for op in OPS:
        o = model["operations"][op]
        ops[op] = strip(o)
        for k in ("input", "output"):
            if k in o:
                walk(o[k]["shape"])
    out = {
        "source": "boto/botocore commit 0e6e2404b85dc336dd2889814e089bde7d1a4c55, "
                  "botocore/data/ec2/2016-11-15/service-2.json: the operations dm-driver-amazonec2 "
                  "uses and the shapes they reach, documentation removed (tests/fakes/specs/ec2/derive.py)",
        "license": "Apache-2.0 (Copyright Amazon.com, Inc. or its affiliates); see tests/fakes/specs/ec2/NOTICE",
        "metadata": model["metadata"],
        "operations": ops,
        "shapes": dict(sorted(keep.items())),
    }
    dst = os.path.join(here, "ec2-subset.json")
    with open(dst + ".tmp", "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    os.rename(dst + ".tmp", dst)
    print("%s: %d operations, %d shapes" % (dst, len(ops), len(keep)))


if __name__ == "__main__":
    main()
