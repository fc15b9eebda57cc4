#!/usr/bin/env python3
"""check_samples.py [API_SPECS_DIR] - the fake's XML writer against AWS's own reply samples.

For each sample in aws/ec2-response-samples/responses (botocore's parsed
.json beside the documentation's .xml), serialise the parsed value with
fake_ec2's writer (the model's output shape) and compare the set of element
paths with the sample XML's.  Prints one line per sample and
"N passed, M failed"; exit 1 on any difference.  Needs shared/api-specs, so
the test that runs it skips when that is absent (CI on a clean clone).
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
import fake_ec2  # noqa: E402

OPS = {"describe-instances": "DescribeInstances", "run-instances": "RunInstances",
       "describe-security-groups": "DescribeSecurityGroups", "describe-subnets": "DescribeSubnets",
       "import-key-pair": "ImportKeyPair", "describe-key-pairs": "DescribeKeyPairs",
       "describe-account-attributes": "DescribeAccountAttributes", "stop-instances": "StopInstances",
       "start-instances": "StartInstances", "request-spot-instances": "RequestSpotInstances",
       "describe-spot-instance-requests": "DescribeSpotInstanceRequests",
       "cancel-spot-instance-requests": "CancelSpotInstanceRequests"}
# the 2014 documentation sample says platform "windows"; the model's enum is "Windows"
KNOWN = {"reply Reservations.Instances.Platform.: 'windows' not in the enum of PlatformValues"}


def paths(e, pre=""):
    out = set()
    for c in e:
        p = pre + "/" + c.tag.split("}")[-1]
        out.add(p)
        out |= paths(c, p)
    return out


def main():
    top = os.path.abspath(os.path.join(HERE, "../../../.."))
    specs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "..", "shared", "api-specs")
    d = os.path.join(specs, "aws", "ec2-response-samples", "responses")
    ok = bad = 0
    for k, op in sorted(OPS.items()):
        with open(os.path.join(d, "ec2-%s.json" % k)) as f:
            js = json.load(f)
        js.pop("ResponseMetadata", None)
        errs = []
        body = fake_ec2.MODEL.xml(fake_ec2.MODEL.ops[op]["output"]["shape"], js, errs)
        mine = paths(ET.fromstring("<r>%s</r>" % body))
        theirs = {p for p in paths(ET.parse(os.path.join(d, "ec2-%s.xml" % k)).getroot())
                  if not p.endswith("/requestId")}
        errs = [e for e in errs if e not in KNOWN]
        if mine == theirs and not errs:
            ok += 1
            print("ok %s" % k)
        else:
            bad += 1
            print("not ok %s: missing %s extra %s %s" % (k, sorted(theirs - mine)[:5], sorted(mine - theirs)[:5],
                                                           errs[:3]))
    print("%d passed, %d failed" % (ok, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
