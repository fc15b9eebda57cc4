#!/usr/bin/env python3
"""fake_ec2 - a fake Amazon EC2 Query API on 127.0.0.1 for dm-driver-amazonec2's tests.

    fake_ec2.py [--port N] [--port-file F] [--lifetime S]
    fake_ec2.py --selftest DIR      check our SigV4 against the official suite in DIR

Every request is POST / with a form body Action=…&Version=2016-11-15&…,
signed with SigV4 (service ec2).  The fake recomputes the signature with the
credentials it knows and answers AWS's own errors (AuthFailure,
SignatureDoesNotMatch, RequestExpired, InvalidClientTokenId for an unknown
key, a credential scope outside the known regions).  Parameters are checked
against the botocore model subset in specs/ec2/ec2-subset.json: every key
must name a member (queryName, else the capitalised locationName, else the
member name; lists flattened as Name.N), integers and booleans must parse,
enums must hold, required members must be present.  A violation answers
EC2's MissingParameter / UnknownParameter / InvalidParameterValue and is
recorded (GET /_violations).  Replies are serialised from the model's output
shapes (element names = locationName, lists as <item>), so their shape is
the model's; a reply member the model does not have is recorded as a
violation too.

Credentials (not secret; AWS's documentation examples):
    AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
    ASIAEXAMPLETEMP / tempsecretEXAMPLEKEY with session token FAKESESSIONTOKEN
Seeded per region (us-east-1, eu-west-1): a default VPC, subnets in zones
a-c, Canonical Ubuntu images (several releases, LTS and not) and instance
types t2.micro t2.small t3.micro m5.large.  config (POST /_config):
    boot_ms        pending -> running (and stopping/shutting-down) delay, 300
    spot_ms        spot request open -> active, 300
    default_vpc    false: the account has no default VPC
Instance addresses come from fakecloud's hand_out_ip (FAKECLOUD_IPS,
FAKECLOUD_AUTHORIZE): the public key of the instance's key pair is handed to
the authorize hook so a test bed host accepts it.
"""

import base64
import datetime
import fnmatch
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.parse
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import fakecloud  # noqa: E402
from fakecloud import Reply  # noqa: E402

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
ACCOUNT = "123456789012"
CANONICAL = "099720109477"
CREDS = {
    "AKIDEXAMPLE": ("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
    "ASIAEXAMPLETEMP": ("tempsecretEXAMPLEKEY", "FAKESESSIONTOKEN"),
}
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
           "ap-southeast-1", "ap-northeast-1", "sa-east-1"]
SEED_REGIONS = ["us-east-1", "eu-west-1"]
INSTANCE_TYPES = ["t2.micro", "t2.small", "t3.micro", "m5.large"]
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}


# ---- SigV4 (the same algorithm as lib/sigv4.c, written independently) ----

def _enc(s, keep_slash=False):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def canonical_path(path):
    segs = []
    for s in path.split("/"):
        if s in ("", "."):
            continue
        if s == "..":
            if segs:
                segs.pop()
            continue
        segs.append(s)
    out = "/" + "/".join(_enc(s) for s in segs)
    if segs and path.endswith("/"):
        out += "/"
    return out


def canonical_query(q):
    pairs = []
    for part in q.split("&") if q else []:
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((_enc(urllib.parse.unquote(k)), _enc(urllib.parse.unquote(v))))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def canonical_request(method, path, query, headers, signed, body):
    """headers: list of (name, value) as received; signed: lower-case names."""
    vals = {}
    for n, v in headers:
        if n.lower() in signed:
            vals.setdefault(n.lower(), []).append(" ".join(v.split()))
    lines = ["%s:%s" % (n, ",".join(vals.get(n, []))) for n in signed]
    return "\n".join([method, canonical_path(path), canonical_query(query), "\n".join(lines) + "\n",
                      ";".join(signed), hashlib.sha256(body).hexdigest()])


def signature(secret, date, region, service, sts):
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def string_to_sign(amzdate, scope, creq):
    return "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amzdate, scope, hashlib.sha256(creq.encode()).hexdigest())


def selftest(d):
    """Run the official suite through this implementation; exit status 0 when all pass."""
    n = bad = 0
    for root, _, files in os.walk(d):
        for f in files:
            if not f.endswith(".req"):
                continue
            base = os.path.join(root, f[:-4])
            raw = open(base + ".req", encoding="utf-8").read()
            head, _, body = raw.partition("\n\n")
            lines = head.split("\n")
            reqline = lines[0]
            method, rest = reqline.split(" ", 1)
            target = rest.rsplit(" ", 1)[0]
            path, _, query = target.partition("?")
            hdrs = []
            for ln in lines[1:]:
                if not ln:
                    continue
                if ln[:1] in (" ", "\t") and hdrs:
                    hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + " " + ln)
                else:
                    k, _, v = ln.partition(":")
                    hdrs.append((k, v))
            if os.path.basename(base) == "get-vanilla-with-session-token":
                for ln in open(base + ".sreq").read().split("\n"):
                    if ln.startswith("X-Amz-Security-Token:"):
                        hdrs.append(("X-Amz-Security-Token", ln.split(":", 1)[1]))
            signed = sorted({k.lower() for k, _ in hdrs})
            creq = canonical_request(method, path, query, hdrs, signed, body.encode())
            sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq)
            sig = signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service", sts)
            authz = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                     "SignedHeaders=%s, Signature=%s" % (";".join(signed), sig))
            n += 1
            for what, got, want in (("creq", creq, open(base + ".creq").read()),
                                    ("sts", sts, open(base + ".sts").read()),
                                    ("authz", authz, open(base + ".authz").read())):
                if got != want:
                    bad += 1
                    print("not ok %s %s" % (os.path.basename(base), what))
    print("%d passed, %d failed" % (3 * n - bad, bad))
    return 0 if n and not bad else 1


# ---- the model: query deserialisation and XML serialisation ----

class Model:
    def __init__(self, path):
        with open(path) as f:
            m = json.load(f)
        self.ops = m["operations"]
        self.shapes = m["shapes"]

    @staticmethod
    def qname(mname, m):
        if "queryName" in m:
            return m["queryName"]
        if "locationName" in m:
            ln = m["locationName"]
            return ln[0].upper() + ln[1:]
        return mname

    def parse(self, shape, form, errs):
        """Form {key: value} (without Action/Version) -> value of shape, errors appended."""
        tree = {}
        for k, v in form.items():
            node = tree
            parts = k.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    break
            else:
                if isinstance(node.get(parts[-1]), dict):
                    errs.append(("UnknownParameter", "The parameter %s is not recognized" % k))
                    continue
                node[parts[-1]] = v
        return self._conv(shape, tree, "", errs)

    def _conv(self, sname, node, where, errs):
        s = self.shapes[sname]
        t = s["type"]
        if t == "structure":
            if not isinstance(node, dict):
                errs.append(("InvalidParameterValue", "Invalid value for parameter %s" % where))
                return None
            out = {}
            byq = {self.qname(n, m): (n, m) for n, m in s.get("members", {}).items()}
            for k, v in node.items():
                if k not in byq:
                    errs.append(("UnknownParameter", "The parameter %s%s is not recognized" % (where, k)))
                    continue
                n, m = byq[k]
                out[n] = self._conv(m["shape"], v, where + k + ".", errs)
            for r in s.get("required", []):
                if r not in out:
                    q = self.qname(r, s["members"][r])
                    errs.append(("MissingParameter", "The request must contain the parameter %s%s" % (where, q)))
            return out
        if t == "list":
            if not isinstance(node, dict) or not all(re.fullmatch(r"[1-9][0-9]*", k) for k in node):
                errs.append(("InvalidParameterValue", "The parameter %s must be a list (%sN)"
                             % (where.rstrip("."), where)))
                return []
            return [self._conv(s["member"]["shape"], node[k], "%s%s." % (where, k), errs)
                    for k in sorted(node, key=int)]
        if isinstance(node, dict):
            errs.append(("UnknownParameter", "The parameter %s%s is not recognized"
                         % (where, next(iter(node)))))
            return None
        name = where.rstrip(".")
        if t in ("integer", "long"):
            try:
                v = int(node)
            except ValueError:
                errs.append(("InvalidParameterValue", "Value (%s) for parameter %s is invalid. "
                             "Expected an integer." % (node, name)))
                return None
            if "min" in s and v < s["min"] or "max" in s and v > s["max"]:
                errs.append(("InvalidParameterValue", "Value (%s) for parameter %s is out of range." % (node, name)))
            return v
        if t == "boolean":
            if node not in ("true", "false"):
                errs.append(("InvalidParameterValue", "Value (%s) for parameter %s is invalid. "
                             "Expected: 'true' or 'false'." % (node, name)))
                return None
            return node == "true"
        if t in ("double", "float"):
            try:
                return float(node)
            except ValueError:
                errs.append(("InvalidParameterValue", "Value (%s) for parameter %s is invalid." % (node, name)))
                return None
        if t == "blob":
            try:
                return base64.b64decode(node, validate=True)
            except ValueError:
                errs.append(("InvalidParameterValue", "Value for parameter %s is not valid base64." % name))
                return None
        if t == "timestamp":
            return node
        if "enum" in s and node not in s["enum"]:
            errs.append(("InvalidParameterValue", "Invalid value '%s' for %s." % (node, name), sname))
        return node

    def xml(self, sname, value, errs, where=""):
        s = self.shapes[sname]
        t = s["type"]
        if t == "structure":
            if not isinstance(value, dict):
                errs.append("%s: expected a structure" % where)
                return ""
            out = []
            members = s.get("members", {})
            for k, v in value.items():
                if v is None:
                    continue
                if k not in members:
                    errs.append("reply %s%s: not a member of %s" % (where, k, sname))
                    continue
                m = members[k]
                tag = m.get("locationName", k)
                out.append("<%s>%s</%s>" % (tag, self.xml(m["shape"], v, errs, where + k + "."), tag))
            return "".join(out)
        if t == "list":
            item = s["member"].get("locationName", "member")
            return "".join("<%s>%s</%s>" % (item, self.xml(s["member"]["shape"], v, errs, where), item)
                           for v in value)
        if t == "boolean":
            return "true" if value else "false"
        if "enum" in s and value not in s["enum"]:
            errs.append("reply %s: %r not in the enum of %s" % (where, value, sname))
        return escape(str(value))


MODEL = Model(os.path.join(HERE, "specs", "ec2", "ec2-subset.json"))


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def err(status, code, message):
    return Reply(status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>%s</Code>"
                 "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
                 % (escape(code), escape(message), fakecloud.request_id()), content_type="text/xml;charset=UTF-8")


class EC2Error(Exception):
    def __init__(self, code, message, status=400):
        Exception.__init__(self, message)
        self.code, self.message, self.status = code, message, status


class FakeEC2(fakecloud.FakeCloud):
    provider = "ec2"

    def __init__(self):
        fakecloud.FakeCloud.__init__(self, config={"boot_ms": 300, "spot_ms": 300, "default_vpc": True})
        self.history = {}       # terminated instances, cancelled spot requests: still described
        self.seq = 0
        self.on_reset()

    # -- provider hooks --

    def error_reply(self, req, status, code, message):
        table = {"server_error": "InternalError", "too_many_requests": "RequestLimitExceeded",
                 "not_found": "InvalidAction", "bad_request": "InvalidAction"}
        if code == "too_many_requests":
            message = "Request limit exceeded."
        elif code == "server_error":
            message = "An internal error has occurred"
        return err(status, table.get(code, code), message)

    def authorize(self, req):
        try:
            self._check_signature(req)
        except EC2Error as e:
            return err(e.status, e.code, e.message)
        return None

    def _check_signature(self, req):
        a = req.headers.get("Authorization") or ""
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/aws4_request,\s*"
                         r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})", a)
        if not m:
            raise EC2Error("AuthFailure" if not a else "IncompleteSignature",
                           "AWS was not able to validate the provided access credentials" if not a else
                           "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
                           401 if not a else 400)
        akid, date, region, service, signed, sig = m.groups()
        req.region = region
        if akid not in CREDS:
            raise EC2Error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
        secret, token = CREDS[akid]
        if service != "ec2":
            raise EC2Error("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'ec2'. ", 403)
        if region not in REGIONS:
            raise EC2Error("AuthFailure", "Credential should be scoped to a valid region. ", 401)
        amzdate = req.headers.get("X-Amz-Date") or ""
        try:
            t = datetime.datetime.strptime(amzdate, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise EC2Error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
        if abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > 300 + 600:
            raise EC2Error("RequestExpired", "Request has expired.", 400)
        if date != amzdate[:8]:
            raise EC2Error("SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           "version of date from HTTP: '%s' != '%s'" % (date, amzdate[:8]), 403)
        names = signed.split(";")
        if "host" not in names:
            raise EC2Error("SignatureDoesNotMatch", "'Host' must be a 'SignedHeader' in the AWS Authorization.", 403)
        if token is not None and req.headers.get("X-Amz-Security-Token") != token:
            raise EC2Error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
        creq = canonical_request("POST" if req.method == "POST" else req.method,
                                 req.path,
                                 req.rawquery, list(req.headers.items()), names, req.body)
        scope = "%s/%s/%s/aws4_request" % (date, region, service)
        want = signature(secret, date, region, service, string_to_sign(amzdate, scope, creq))
        if not hmac.compare_digest(want, sig):
            raise EC2Error("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                           "signature you provided. Check your AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.", 403)

    def on_reset(self):
        self.history = {}
        self.tokens = {}
        self.seq = 0
        for region in SEED_REGIONS:
            vpc = "vpc-%s" % hashlib.md5(region.encode()).hexdigest()[:8]
            self.add("vpc", vpc, {"VpcId": vpc, "Region": region, "IsDefault": True}, seeded=True)
            for i, z in enumerate("abc"):
                sid = "subnet-%s" % hashlib.md5((region + z).encode()).hexdigest()[:8]
                self.add("subnet", sid, {"SubnetId": sid, "VpcId": vpc, "AvailabilityZone": region + z,
                                         "DefaultForAz": True, "State": "available",
                                         "CidrBlock": "172.31.%d.0/20" % (16 * i),
                                         "MapPublicIpOnLaunch": True, "Region": region}, seeded=True)
            imgs = [("ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20190628", "2019-06-28T10:00:00.000Z", CANONICAL),
                    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240501", "2024-05-01T10:00:00.000Z", CANONICAL),
                    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610", "2025-06-10T10:00:00.000Z", CANONICAL),
                    ("ubuntu/images/hvm-ssd-gp3/ubuntu-plucky-25.04-amd64-server-20250801", "2025-08-01T10:00:00.000Z", CANONICAL),
                    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250701", "2025-07-01T10:00:00.000Z", CANONICAL),
                    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250901", "2025-09-01T10:00:00.000Z", "111122223333")]
            for i, (name, created, owner) in enumerate(imgs):
                iid = "ami-%s" % hashlib.md5((region + name + owner).encode()).hexdigest()[:17]
                self.add("image", iid, {"ImageId": iid, "Name": name, "CreationDate": created, "OwnerId": owner,
                                        "State": "available", "Architecture": "arm64" if "arm64" in name else "x86_64",
                                        "RootDeviceName": "/dev/sda1", "RootDeviceType": "ebs",
                                        "VirtualizationType": "hvm", "Public": True, "Region": region}, seeded=True)
        for it in INSTANCE_TYPES:
            self.add("instance-type", it, {"InstanceType": it}, seeded=True)

    # -- helpers --

    def next_id(self, prefix, n=17):
        self.seq += 1
        return "%s-%s" % (prefix, hashlib.md5(("%s%d%f" % (prefix, self.seq, time.time())).encode())
                          .hexdigest()[:n])

    def regional(self, kind, region):
        return [o for o in self.list(kind) if o.get("Region") == region]

    def tick(self):
        """Advance time-based transitions."""
        now = time.time()
        boot = self.config.get("boot_ms", 300) / 1000.0
        for i in self.list("instance"):
            if now - i["_t"] < boot:
                continue
            st = i["State"]
            if st == "pending":
                self._set_state(i, "running")
            elif st == "stopping":
                self._set_state(i, "stopped")
            elif st == "shutting-down":
                self._set_state(i, "terminated")
                self.delete("instance", i["InstanceId"])
                self.history[("instance", i["InstanceId"])] = i
        spot = self.config.get("spot_ms", 300) / 1000.0
        for r in self.list("spot-request"):
            if r["State"] == "open" and now - r["_t"] >= spot:
                inst = self._launch(r["Region"], r["_spec"], spot_request=r["SpotInstanceRequestId"])
                r["State"] = "active"
                r["InstanceId"] = inst["InstanceId"]
                r["Status"] = {"Code": "fulfilled", "Message": "Your spot request is fulfilled.",
                               "UpdateTime": now_iso()}

    def _set_state(self, i, st):
        i["State"] = st
        i["_t"] = time.time()

    def _instance(self, region, iid):
        i = self.get("instance", iid) or self.history.get(("instance", iid))
        if i and i["Region"] == region:
            return i
        return None

    def _tags(self, specs, rtype):
        tags = []
        for s in specs or []:
            if s.get("ResourceType") == rtype:
                tags += [{"Key": t.get("Key", ""), "Value": t.get("Value", "")} for t in s.get("Tags") or []]
        return tags

    # -- filters --

    def _match(self, obj, filters, fields):
        for f in filters or []:
            name, vals = f.get("Name", ""), f.get("Values") or []
            if name.startswith("tag:"):
                key = name[4:]
                have = [t["Value"] for t in obj.get("Tags", []) if t["Key"] == key]
            elif name == "tag-key":
                have = [t["Key"] for t in obj.get("Tags", [])]
            elif name in fields:
                v = fields[name](obj)
                have = v if isinstance(v, list) else [v]
            else:
                raise EC2Error("InvalidParameterValue", "The filter '%s' is invalid" % name)
            have = ["true" if x is True else "false" if x is False else str(x) for x in have if x is not None]
            if not any(fnmatch.fnmatchcase(h, v) for h in have for v in vals):
                return False
        return True

    INSTANCE_FILTERS = {
        "instance-id": lambda i: i["InstanceId"],
        "instance-state-name": lambda i: i["State"],
        "instance.group-id": lambda i: i["_groups"],
        "vpc-id": lambda i: i["VpcId"],
        "subnet-id": lambda i: i["SubnetId"],
        "key-name": lambda i: i.get("KeyName"),
        "spot-instance-request-id": lambda i: i.get("SpotInstanceRequestId"),
    }

    # -- views --

    def instance_view(self, i):
        v = {"InstanceId": i["InstanceId"], "ImageId": i["ImageId"],
             "State": {"Code": STATE_CODES[i["State"]], "Name": i["State"]},
             "PrivateDnsName": "ip-%s.ec2.internal" % i["PrivateIpAddress"].replace(".", "-"),
             "PublicDnsName": "", "KeyName": i.get("KeyName"), "AmiLaunchIndex": 0,
             "InstanceType": i["InstanceType"], "LaunchTime": i["LaunchTime"],
             "Placement": {"AvailabilityZone": i["AvailabilityZone"], "Tenancy": "default"},
             "Monitoring": {"State": "enabled" if i.get("_monitoring") else "disabled"},
             "SubnetId": i["SubnetId"], "VpcId": i["VpcId"], "PrivateIpAddress": i["PrivateIpAddress"],
             "Architecture": "x86_64", "RootDeviceType": "ebs", "RootDeviceName": i["_device"],
             "SecurityGroups": [{"GroupId": g, "GroupName": (self.get("security-group", g) or {}).get("GroupName", g)}
                                for g in i["_groups"]],
             "EbsOptimized": bool(i.get("_ebsopt")), "Hypervisor": "xen", "VirtualizationType": "hvm",
             "Tags": i.get("Tags") or None, "SpotInstanceRequestId": i.get("SpotInstanceRequestId"),
             "InstanceLifecycle": "spot" if i.get("SpotInstanceRequestId") else None}
        if i.get("_profile"):
            v["IamInstanceProfile"] = {"Arn": "arn:aws:iam::%s:instance-profile/%s" % (ACCOUNT, i["_profile"]),
                                       "Id": "AIPA" + i["_profile"].upper()[:16]}
        if i["State"] in ("pending", "running") and i.get("PublicIpAddress"):
            v["PublicIpAddress"] = i["PublicIpAddress"]
            v["PublicDnsName"] = "ec2-%s.compute-1.amazonaws.com" % i["PublicIpAddress"].replace(".", "-")
        if i["State"] == "pending":
            v.pop("PublicIpAddress", None)
        return v

    def _launch(self, region, spec, count=1, spot_request=None):
        img = self.get("image", spec.get("ImageId") or "")
        if not img or img["Region"] != region:
            raise EC2Error("InvalidAMIID.NotFound", "The image id '[%s]' does not exist" % spec.get("ImageId"))
        it = spec.get("InstanceType") or "m1.small"
        if not self.get("instance-type", it):
            raise EC2Error("InvalidParameterValue", "Invalid value '%s' for InstanceType." % it)
        kp = None
        if spec.get("KeyName"):
            kp = next((k for k in self.regional("keypair", region) if k["KeyName"] == spec["KeyName"]), None)
            if not kp:
                raise EC2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % spec["KeyName"])
        nics = spec.get("NetworkInterfaces") or []
        subnet_id = spec.get("SubnetId") or (nics[0].get("SubnetId") if nics else None)
        groups = list(spec.get("SecurityGroupIds") or []) + [g for n in nics for g in n.get("Groups") or []]
        az = (spec.get("Placement") or {}).get("AvailabilityZone")
        if subnet_id:
            sn = self.get("subnet", subnet_id)
            if not sn or sn["Region"] != region:
                raise EC2Error("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist" % subnet_id)
        else:
            sns = [s for s in self.regional("subnet", region) if s["DefaultForAz"] and (not az or s["AvailabilityZone"] == az)]
            if not sns:
                raise EC2Error("VPCIdNotSpecified", "No default VPC for this user")
            sn = sns[0]
        if az and az != sn["AvailabilityZone"]:
            raise EC2Error("InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. "
                           "Subnet '%s' is in the availability zone %s" % (az, sn["SubnetId"], sn["AvailabilityZone"]))
        for g in groups:
            sg = self.get("security-group", g)
            if not sg or sg["Region"] != region:
                raise EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist" % g)
            if sg["VpcId"] != sn["VpcId"]:
                raise EC2Error("InvalidParameter", "Security group %s and subnet %s belong to different networks."
                               % (g, sn["SubnetId"]))
        if not groups:
            groups = [sg["GroupId"] for sg in self.regional("security-group", region)
                      if sg["VpcId"] == sn["VpcId"] and sg["GroupName"] == "default"]
        public = sn["MapPublicIpOnLaunch"]
        if nics and "AssociatePublicIpAddress" in nics[0]:
            public = nics[0]["AssociatePublicIpAddress"]
        bdm = (spec.get("BlockDeviceMappings") or [{}])[0]
        out = []
        for _ in range(count):
            iid = self.next_id("i")
            self.seq += 1
            pub = self.hand_out_ip([kp["_material"]] if kp else []) if public else None
            i = {"InstanceId": iid, "Region": region, "ImageId": img["ImageId"], "InstanceType": it,
                 "KeyName": spec.get("KeyName"), "State": "pending", "_t": time.time(),
                 "LaunchTime": now_iso(), "AvailabilityZone": sn["AvailabilityZone"], "SubnetId": sn["SubnetId"],
                 "VpcId": sn["VpcId"], "PrivateIpAddress": "172.31.%d.%d" % (self.seq // 250 % 250, self.seq % 250 + 1),
                 "PublicIpAddress": pub, "_groups": groups, "_device": bdm.get("DeviceName") or "/dev/sda1",
                 "_monitoring": (spec.get("Monitoring") or {}).get("Enabled"), "_ebsopt": spec.get("EbsOptimized"),
                 "_profile": (spec.get("IamInstanceProfile") or {}).get("Name"),
                 "_userdata": spec.get("UserData"), "_volume": bdm.get("Ebs"),
                 "Tags": self._tags(spec.get("TagSpecifications"), "instance")}
            if spot_request:
                i["SpotInstanceRequestId"] = spot_request
            self.add("instance", iid, i)
            out.append(i)
        return out[0] if count == 1 else out

    def find_resource(self, region, rid):
        for kind in ("instance", "security-group", "keypair", "spot-request", "image", "subnet", "vpc"):
            o = self.get(kind, rid)
            if o and o.get("Region") == region:
                return o
        return None


cloud = FakeEC2()
OPS = {}


def op(name):
    def deco(fn):
        OPS[name] = fn
        return fn
    return deco


def dispatch(req):
    action = req.form.get("Action")
    cloud.set_op(req, action)
    region = getattr(req, "region", "us-east-1")
    if req.form.get("Version") != "2016-11-15":
        return err(400, "InvalidParameterValue" if req.form.get("Version") else "MissingParameter",
                   "Invalid API version '%s'" % req.form.get("Version") if req.form.get("Version")
                   else "The request must contain the parameter Version")
    if action not in OPS or action not in MODEL.ops:
        return err(400, "InvalidAction", "The action %s is not valid for this web service." % action)
    o = MODEL.ops[action]
    form = {k: v for k, v in req.form.items() if k not in ("Action", "Version")}
    errs = []
    params = MODEL.parse(o["input"]["shape"], form, errs) if "input" in o else {}
    if errs:
        cloud.violations.append({"request": action, "op": action, "errors": [e[1] for e in errs]})
        code, msg = errs[0][0], errs[0][1]
        if action == "DescribeInstanceTypes" and len(errs[0]) > 2 and errs[0][2] == "InstanceType":
            bad = [e[1].split("'")[1] for e in errs if len(e) > 2]
            code, msg = "InvalidInstanceType", "The following supplied instance types do not exist: [%s]" % ", ".join(bad)
        return err(400, code, msg)
    if params.get("DryRun"):
        return err(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    cloud.tick()
    try:
        result = OPS[action](req, region, params)
    except EC2Error as e:
        return err(e.status, e.code, e.message)
    body = ""
    if "output" in o:
        rerrs = []
        body = MODEL.xml(o["output"]["shape"], result or {}, rerrs)
        if rerrs:
            cloud.violations.append({"reply": action, "op": action, "status": 200, "errors": rerrs})
    elif result:
        cloud.violations.append({"reply": action, "op": action, "status": 200,
                                 "errors": ["%s has no output shape" % action]})
    xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\"><requestId>%s</requestId>%s</%sResponse>"
           % (action, NS, fakecloud.request_id(), body, action))
    return Reply(200, xml, content_type="text/xml;charset=UTF-8")


def ids_or_all(items, key, wanted, code, what):
    if not wanted:
        return items
    byid = {o[key]: o for o in items}
    missing = [w for w in wanted if w not in byid]
    if missing:
        if len(missing) == 1:
            raise EC2Error(code, "The %s '%s' does not exist" % (what, missing[0]))
        raise EC2Error(code, "The %ss '%s' do not exist" % (what, ", ".join(missing)))
    return [byid[w] for w in wanted]


@op("DescribeAccountAttributes")
def describe_account_attributes(req, region, p):
    names = p.get("AttributeNames") or ["supported-platforms", "default-vpc"]
    out = []
    for n in names:
        if n == "default-vpc":
            vpcs = [v["VpcId"] for v in cloud.regional("vpc", region) if v["IsDefault"]]
            val = vpcs[0] if vpcs and cloud.config.get("default_vpc", True) else "none"
            out.append({"AttributeName": n, "AttributeValues": [{"AttributeValue": val}]})
        elif n == "supported-platforms":
            out.append({"AttributeName": n, "AttributeValues": [{"AttributeValue": "VPC"}]})
    return {"AccountAttributes": out}


@op("DescribeSubnets")
def describe_subnets(req, region, p):
    items = ids_or_all(cloud.regional("subnet", region), "SubnetId", p.get("SubnetIds"),
                       "InvalidSubnetID.NotFound", "subnet ID")
    fields = {"vpc-id": lambda s: s["VpcId"], "availability-zone": lambda s: s["AvailabilityZone"],
              "subnet-id": lambda s: s["SubnetId"], "default-for-az": lambda s: s["DefaultForAz"],
              "state": lambda s: s["State"]}
    items = [s for s in items if cloud._match(s, p.get("Filters"), fields)]
    return {"Subnets": [{k: v for k, v in s.items() if k != "Region"} | {"OwnerId": ACCOUNT,
                        "AvailableIpAddressCount": 4091} for s in items]}


@op("DescribeImages")
def describe_images(req, region, p):
    ids = p.get("ImageIds")
    for i in ids or []:
        if not re.fullmatch(r"ami-[0-9a-f]{8,17}", i):
            raise EC2Error("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")" % i)
    have = {i["ImageId"] for i in cloud.regional("image", region)}
    missing = [i for i in ids or [] if i not in have]
    if missing:
        raise EC2Error("InvalidAMIID.NotFound", "The image id%s '[%s]' %s" % (
            "s" if len(missing) > 1 else "", ", ".join(missing), "do not exist" if len(missing) > 1 else "does not exist"))
    items = ids_or_all(cloud.regional("image", region), "ImageId", ids, "InvalidAMIID.NotFound", "image id")
    owners = p.get("Owners")
    if owners:
        owners = [ACCOUNT if o == "self" else CANONICAL if o == "canonical" else o for o in owners]
        items = [i for i in items if i["OwnerId"] in owners]
    fields = {"name": lambda i: i["Name"], "state": lambda i: i["State"], "architecture": lambda i: i["Architecture"],
              "owner-id": lambda i: i["OwnerId"], "root-device-type": lambda i: i["RootDeviceType"],
              "virtualization-type": lambda i: i["VirtualizationType"], "image-id": lambda i: i["ImageId"]}
    items = [i for i in items if cloud._match(i, p.get("Filters"), fields)]
    return {"Images": [{k: v for k, v in i.items() if k != "Region"} for i in items]}


@op("DescribeInstanceTypes")
def describe_instance_types(req, region, p):
    want = p.get("InstanceTypes") or INSTANCE_TYPES
    bad = [w for w in want if not cloud.get("instance-type", w)]
    if bad:
        raise EC2Error("InvalidInstanceType", "The following supplied instance types do not exist: [%s]" % ", ".join(bad))
    return {"InstanceTypes": [{"InstanceType": w, "CurrentGeneration": True} for w in want]}


def keypair_view(k):
    return {"KeyPairId": k["KeyPairId"], "KeyName": k["KeyName"], "KeyFingerprint": k["KeyFingerprint"],
            "KeyType": k["KeyType"], "Tags": k["Tags"] or None, "CreateTime": k["CreateTime"]}


@op("DescribeKeyPairs")
def describe_key_pairs(req, region, p):
    items = cloud.regional("keypair", region)
    names = p.get("KeyNames")
    if names:
        have = {k["KeyName"]: k for k in items}
        missing = [n for n in names if n not in have]
        if missing:
            raise EC2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % missing[0])
        items = [have[n] for n in names]
    if p.get("KeyPairIds"):
        items = ids_or_all(items, "KeyPairId", p["KeyPairIds"], "InvalidKeyPair.NotFound", "key pair")
    fields = {"key-name": lambda k: k["KeyName"], "key-pair-id": lambda k: k["KeyPairId"],
              "fingerprint": lambda k: k["KeyFingerprint"]}
    items = [k for k in items if cloud._match(k, p.get("Filters"), fields)]
    return {"KeyPairs": [keypair_view(k) for k in items]}


@op("ImportKeyPair")
def import_key_pair(req, region, p):
    name = p["KeyName"]
    if any(k["KeyName"] == name for k in cloud.regional("keypair", region)):
        raise EC2Error("InvalidKeyPair.Duplicate", "The keypair '%s' already exists." % name)
    material = p["PublicKeyMaterial"].decode("utf-8", "replace").strip()
    parts = material.split()
    if len(parts) < 2 or parts[0] not in ("ssh-rsa", "ssh-ed25519"):
        raise EC2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise EC2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
    if parts[0] == "ssh-ed25519":
        fp = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=") + "="
    else:
        d = hashlib.md5(blob).hexdigest()
        fp = ":".join(d[i:i + 2] for i in range(0, 32, 2))
    kid = cloud.next_id("key")
    k = {"KeyPairId": kid, "KeyName": name, "KeyFingerprint": fp, "Region": region, "_material": material,
         "KeyType": "ed25519" if parts[0] == "ssh-ed25519" else "rsa", "CreateTime": now_iso(),
         "Tags": cloud._tags(p.get("TagSpecifications"), "key-pair")}
    cloud.add("keypair", kid, k)
    return {"KeyFingerprint": fp, "KeyName": name, "KeyPairId": kid, "Tags": k["Tags"] or None}


@op("DeleteKeyPair")
def delete_key_pair(req, region, p):
    if not p.get("KeyName") and not p.get("KeyPairId"):
        raise EC2Error("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
    for k in cloud.regional("keypair", region):
        if k["KeyName"] == p.get("KeyName") or k["KeyPairId"] == p.get("KeyPairId"):
            cloud.delete("keypair", k["KeyPairId"])
            return {"Return": True, "KeyPairId": k["KeyPairId"]}
    return {"Return": True}     # EC2 answers success for a key that is not there


def group_view(g):
    return {"GroupId": g["GroupId"], "GroupName": g["GroupName"], "Description": g["Description"],
            "VpcId": g["VpcId"], "OwnerId": ACCOUNT, "IpPermissions": g["IpPermissions"],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            "Tags": g["Tags"] or None}


@op("DescribeSecurityGroups")
def describe_security_groups(req, region, p):
    items = ids_or_all(cloud.regional("security-group", region), "GroupId", p.get("GroupIds"),
                       "InvalidGroup.NotFound", "security group")
    if p.get("GroupNames"):
        have = {g["GroupName"]: g for g in items}
        for n in p["GroupNames"]:
            if n not in have:
                raise EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC" % n)
        items = [have[n] for n in p["GroupNames"]]
    fields = {"group-name": lambda g: g["GroupName"], "group-id": lambda g: g["GroupId"],
              "vpc-id": lambda g: g["VpcId"], "description": lambda g: g["Description"]}
    items = [g for g in items if cloud._match(g, p.get("Filters"), fields)]
    return {"SecurityGroups": [group_view(g) for g in items]}


@op("CreateSecurityGroup")
def create_security_group(req, region, p):
    vpc = p.get("VpcId")
    if vpc:
        v = cloud.get("vpc", vpc)
        if not v or v["Region"] != region:
            raise EC2Error("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc)
    else:
        vpcs = [v for v in cloud.regional("vpc", region) if v["IsDefault"]]
        if not vpcs:
            raise EC2Error("VPCIdNotSpecified", "No default VPC for this user")
        vpc = vpcs[0]["VpcId"]
    name = p["GroupName"]
    if any(g["GroupName"] == name and g["VpcId"] == vpc for g in cloud.regional("security-group", region)):
        raise EC2Error("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'" % (name, vpc))
    gid = cloud.next_id("sg")
    g = {"GroupId": gid, "GroupName": name, "Description": p["Description"], "VpcId": vpc, "Region": region,
         "IpPermissions": [], "Tags": cloud._tags(p.get("TagSpecifications"), "security-group")}
    cloud.add("security-group", gid, g)
    return {"GroupId": gid, "Tags": g["Tags"] or None}


@op("AuthorizeSecurityGroupIngress")
def authorize_ingress(req, region, p):
    gid = p.get("GroupId")
    g = cloud.get("security-group", gid or "")
    if not g or g["Region"] != region:
        raise EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)
    perms = p.get("IpPermissions") or []
    if not perms:
        raise EC2Error("MissingParameter", "The request must contain the parameter IpPermissions")
    for perm in perms:
        for r in perm.get("IpRanges") or []:
            key = (perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort"), r.get("CidrIp"))
            for have in g["IpPermissions"]:
                if (have["IpProtocol"], have.get("FromPort"), have.get("ToPort"), have["IpRanges"][0]["CidrIp"]) == key:
                    raise EC2Error("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, from port: %s, "
                                   "to port: %s, ALLOW\" already exists" % (key[3], key[0].upper(), key[1], key[2]))
    for perm in perms:
        for r in perm.get("IpRanges") or []:
            g["IpPermissions"].append({"IpProtocol": perm.get("IpProtocol"), "FromPort": perm.get("FromPort"),
                                       "ToPort": perm.get("ToPort"), "IpRanges": [{"CidrIp": r.get("CidrIp")}]})
    return {"Return": True}


@op("DeleteSecurityGroup")
def delete_security_group(req, region, p):
    gid = p.get("GroupId")
    g = cloud.get("security-group", gid or "")
    if not g or g["Region"] != region:
        raise EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)
    if any(gid in i["_groups"] for i in cloud.regional("instance", region)):
        raise EC2Error("DependencyViolation", "resource %s has a dependent object" % gid)
    cloud.delete("security-group", gid)
    return {"Return": True, "GroupId": gid}


def reservation(insts):
    return {"ReservationId": cloud.next_id("r"), "OwnerId": ACCOUNT,
            "Instances": [cloud.instance_view(i) for i in insts]}


@op("RunInstances")
def run_instances(req, region, p):
    if p["MinCount"] < 1 or p["MaxCount"] < p["MinCount"]:
        raise EC2Error("InvalidParameterValue", "Value (%d) for parameter maxCount is invalid." % p["MaxCount"])
    if not p.get("ImageId"):
        raise EC2Error("MissingParameter", "The request must contain the parameter ImageId")
    tok = p.get("ClientToken")
    if tok and ("run", tok) in cloud.tokens:      # idempotent retry: the same instances
        return reservation([cloud._instance(region, i) for i in cloud.tokens[("run", tok)]])
    insts = cloud._launch(region, p, p["MaxCount"])
    insts = insts if isinstance(insts, list) else [insts]
    if tok:
        cloud.tokens[("run", tok)] = [i["InstanceId"] for i in insts]
    return reservation(insts)


@op("RequestSpotInstances")
def request_spot_instances(req, region, p):
    spec = p.get("LaunchSpecification") or {}
    if not spec.get("ImageId"):
        raise EC2Error("MissingParameter", "The request must contain the parameter LaunchSpecification.ImageId")
    img = cloud.get("image", spec["ImageId"])
    if not img or img["Region"] != region:
        raise EC2Error("InvalidAMIID.NotFound", "The image id '[%s]' does not exist" % spec["ImageId"])
    if p.get("SpotPrice") is not None and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", p["SpotPrice"]):
        raise EC2Error("InvalidParameterValue", "Invalid value for 'spotPrice'.")
    tok = p.get("ClientToken")
    if tok and ("spot", tok) in cloud.tokens:
        return {"SpotInstanceRequests": [spot_view(r) for r in all_spot(region)
                                         if r["SpotInstanceRequestId"] in cloud.tokens[("spot", tok)]]}
    spec = dict(spec)
    spec["Placement"] = {"AvailabilityZone": (spec.get("Placement") or {}).get("AvailabilityZone")}
    out = []
    for _ in range(p.get("InstanceCount") or 1):
        rid = cloud.next_id("sir", 8)
        r = {"SpotInstanceRequestId": rid, "Region": region, "State": "open", "_t": time.time(), "_spec": spec,
             "SpotPrice": p.get("SpotPrice") or "0.50", "Type": p.get("Type") or "one-time", "CreateTime": now_iso(),
             "Status": {"Code": "pending-evaluation", "Message": "Your Spot request has been submitted for review, "
                        "and is pending evaluation.", "UpdateTime": now_iso()},
             "Tags": cloud._tags(p.get("TagSpecifications"), "spot-instances-request")}
        if p.get("BlockDurationMinutes"):
            r["BlockDurationMinutes"] = p["BlockDurationMinutes"]
        cloud.add("spot-request", rid, r)
        out.append(r)
    if tok:
        cloud.tokens[("spot", tok)] = [r["SpotInstanceRequestId"] for r in out]
    return {"SpotInstanceRequests": [spot_view(r) for r in out]}


def spot_view(r):
    return {"SpotInstanceRequestId": r["SpotInstanceRequestId"], "SpotPrice": r["SpotPrice"], "Type": r["Type"],
            "State": r["State"], "Status": r["Status"], "InstanceId": r.get("InstanceId"),
            "CreateTime": r["CreateTime"], "Tags": r["Tags"] or None,
            "BlockDurationMinutes": r.get("BlockDurationMinutes"),
            "LaunchSpecification": {"ImageId": r["_spec"].get("ImageId"), "InstanceType": r["_spec"].get("InstanceType"),
                                    "KeyName": r["_spec"].get("KeyName")}}


def all_spot(region):
    return cloud.regional("spot-request", region) + [o for (k, _), o in cloud.history.items()
                                                     if k == "spot-request" and o["Region"] == region]


@op("DescribeSpotInstanceRequests")
def describe_spot(req, region, p):
    items = ids_or_all(all_spot(region), "SpotInstanceRequestId", p.get("SpotInstanceRequestIds"),
                       "InvalidSpotInstanceRequestID.NotFound", "spot instance request ID")
    fields = {"state": lambda r: r["State"], "spot-instance-request-id": lambda r: r["SpotInstanceRequestId"],
              "instance-id": lambda r: r.get("InstanceId"), "status-code": lambda r: r["Status"]["Code"]}
    items = [r for r in items if cloud._match(r, p.get("Filters"), fields)]
    return {"SpotInstanceRequests": [spot_view(r) for r in items]}


@op("CancelSpotInstanceRequests")
def cancel_spot(req, region, p):
    items = ids_or_all(all_spot(region), "SpotInstanceRequestId", p["SpotInstanceRequestIds"],
                       "InvalidSpotInstanceRequestID.NotFound", "spot instance request ID")
    for r in items:
        if r["State"] in ("open", "active"):
            r["State"] = "cancelled"
            r["Status"] = {"Code": "request-canceled-and-instance-running" if r.get("InstanceId") else "canceled-before-fulfillment",
                           "Message": "Spot Instance request was canceled.", "UpdateTime": now_iso()}
        if cloud.get("spot-request", r["SpotInstanceRequestId"]):
            cloud.delete("spot-request", r["SpotInstanceRequestId"])
            cloud.history[("spot-request", r["SpotInstanceRequestId"])] = r
    return {"CancelledSpotInstanceRequests": [{"SpotInstanceRequestId": r["SpotInstanceRequestId"],
                                               "State": r["State"]} for r in items]}


@op("CreateTags")
def create_tags(req, region, p):
    objs = []
    for rid in p["Resources"]:
        o = cloud.find_resource(region, rid)
        if not o:
            kind = rid.split("-")[0]
            code = {"i": "InvalidInstanceID.NotFound", "sg": "InvalidGroup.NotFound",
                    "sir": "InvalidSpotInstanceRequestID.NotFound"}.get(kind, "InvalidID")
            raise EC2Error(code, "The ID '%s' does not exist" % rid if code == "InvalidID"
                           else "The instance ID '%s' does not exist" % rid if kind == "i"
                           else "The resource '%s' does not exist" % rid)
        objs.append(o)
    for o in objs:
        tags = o.setdefault("Tags", [])
        for t in p["Tags"]:
            tags[:] = [x for x in tags if x["Key"] != t.get("Key")]
            tags.append({"Key": t.get("Key", ""), "Value": t.get("Value", "")})
    return None


def instances_by_ids(region, ids):
    missing = [i for i in ids if not cloud._instance(region, i)]
    bad = [i for i in ids if not re.fullmatch(r"i-[0-9a-f]{8,17}", i)]
    if bad:
        raise EC2Error("InvalidInstanceID.Malformed", "Invalid id: \"%s\"" % bad[0])
    if missing:
        if len(missing) == 1:
            raise EC2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % missing[0])
        raise EC2Error("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist" % ", ".join(missing))
    return [cloud._instance(region, i) for i in ids]


@op("DescribeInstances")
def describe_instances(req, region, p):
    if p.get("InstanceIds"):
        items = instances_by_ids(region, p["InstanceIds"])
    else:
        items = cloud.regional("instance", region) + [o for (k, _), o in cloud.history.items()
                                                       if k == "instance" and o["Region"] == region]
    items = [i for i in items if cloud._match(i, p.get("Filters"), cloud.INSTANCE_FILTERS)]
    return {"Reservations": [reservation([i]) for i in items]}


def state_change(i, new):
    prev = i["State"]
    if new:
        cloud._set_state(i, new)
    return {"InstanceId": i["InstanceId"], "PreviousState": {"Code": STATE_CODES[prev], "Name": prev},
            "CurrentState": {"Code": STATE_CODES[i["State"]], "Name": i["State"]}}


@op("StartInstances")
def start_instances(req, region, p):
    out = []
    for i in instances_by_ids(region, p["InstanceIds"]):
        if i["State"] in ("terminated", "shutting-down", "stopping"):
            raise EC2Error("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be "
                           "started." % i["InstanceId"])
        out.append(state_change(i, "pending" if i["State"] == "stopped" else None))
    return {"StartingInstances": out}


@op("StopInstances")
def stop_instances(req, region, p):
    out = []
    for i in instances_by_ids(region, p["InstanceIds"]):
        if i["State"] in ("terminated", "shutting-down"):
            raise EC2Error("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be "
                           "stopped." % i["InstanceId"])
        if i.get("SpotInstanceRequestId"):
            raise EC2Error("UnsupportedOperation", "You can't stop the Spot Instance '%s' because it is associated "
                           "with a one-time Spot Instance request. You can only stop Spot Instances associated with "
                           "persistent Spot Instance requests." % i["InstanceId"])
        if i["State"] in ("pending", "running") or (i["State"] == "stopping" and p.get("Force")):
            out.append(state_change(i, "stopped" if p.get("Force") else "stopping"))
        else:
            out.append(state_change(i, None))
    return {"StoppingInstances": out}


@op("RebootInstances")
def reboot_instances(req, region, p):
    for i in instances_by_ids(region, p["InstanceIds"]):
        if i["State"] not in ("running", "pending"):
            raise EC2Error("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be "
                           "rebooted." % i["InstanceId"])
    return None


@op("TerminateInstances")
def terminate_instances(req, region, p):
    out = []
    for i in instances_by_ids(region, p["InstanceIds"]):
        out.append(state_change(i, "shutting-down" if i["State"] not in ("terminated", "shutting-down") else None))
    return {"TerminatingInstances": out}


for _name in OPS:
    cloud.route_action("POST", "/", "Action", _name)(dispatch)

def client(url, action, pairs, region="us-east-1"):
    """A signed request with the test credentials (tests and bench): prints the reply."""
    import urllib.request
    body = urllib.parse.urlencode([("Action", action), ("Version", "2016-11-15")] +
                                  [tuple(p.split("=", 1)) for p in pairs], quote_via=urllib.parse.quote).encode()
    u = urllib.parse.urlsplit(url)
    amzdate = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    hdrs = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", u.netloc),
            ("X-Amz-Date", amzdate)]
    signed = sorted(h[0].lower() for h in hdrs)
    creq = canonical_request("POST", u.path or "/", "", hdrs, signed, body)
    scope = "%s/%s/ec2/aws4_request" % (amzdate[:8], region)
    secret = CREDS["AKIDEXAMPLE"][0]
    sig = signature(secret, amzdate[:8], region, "ec2", string_to_sign(amzdate, scope, creq))
    req = urllib.request.Request(url, data=body, method="POST", headers=dict(hdrs))
    req.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/%s, SignedHeaders=%s, Signature=%s"
                   % (scope, ";".join(signed), sig))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            sys.stdout.write(r.read().decode())
            return 0
    except urllib.error.HTTPError as e:
        sys.stdout.write(e.read().decode())
        return 1


def _ticker():
    while True:
        time.sleep(0.05)
        with cloud.lock:
            cloud.tick()


if __name__ == "__main__":
    import threading
    threading.Thread(target=_ticker, daemon=True).start()
    if len(sys.argv) >= 4 and sys.argv[1] == "--client":
        sys.exit(client(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if len(sys.argv) == 3 and sys.argv[1] == "--selftest":
        sys.exit(selftest(sys.argv[2]))
    sys.exit(fakecloud.main(cloud))
