#!/usr/bin/env python3
"""fake_gce.py - a fake Google Compute Engine v1 API and OAuth2 token endpoint on
127.0.0.1, for tests/fakes/google.bats (python3 stdlib only; fakecloud framework).

    FAKE_GCE_SA_KEY=sa.json tests/fakes/fake_gce.py [--port N] [--port-file F]

Endpoints: /compute/v1/... (point GOOGLE_COMPUTE_ENDPOINT at
http://127.0.0.1:PORT/compute/v1/) and POST /token (GOOGLE_OAUTH_TOKEN_URI).

Auth: /token takes grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with
an RS256 JWT that must verify with the public key of a service-account key file
in $FAKE_GCE_SA_KEY (colon-separated list; iss = its client_email, aud = this
token URL, iat/exp sane, a compute or cloud-platform scope), or
grant_type=refresh_token matching config "refresh_tokens"
[{client_id, client_secret, refresh_token}].  It issues a fresh opaque bearer
token (1 h).  Every Compute call needs a token issued here, or one listed in
config "static_tokens" (the --google-auth-token case); else 401 as Google
answers it.

Every Compute request is checked against specs/gce/compute.v1.subset.json
(derived from the discovery document): path parameters and their patterns,
query parameters, required body fields (annotations), types, enums, and no
output-only fields sent.  Replies are checked against the response schemas.

State: projects (config "projects", default ["dm-test"]), zones
(config "zones"), machine types and images are a fixed catalogue; instances,
disks and firewalls are resources (/_state; firewalls are shared rules,
counted apart by tests).  Mutations answer an Operation (RUNNING) that turns
DONE after config "op_polls" GETs of it (default 1) or "op_seconds" seconds
(default 3) have passed, and the change (status RUNNING, TERMINATED,
deletion…) lands then.  config "op_fail": {"type": "insert", "code": ..,
"message": ..} makes the next operation of that type end DONE with that error
(an insert then leaves nothing behind, as on GCE).

Instances get an IP from cloud.hand_out_ip() with the ssh-keys metadata lines
("user:ssh-ed25519 AAAA… comment") as the keys, so FAKECLOUD_AUTHORIZE can
install them on a test-bed host the way the GCE guest agent does.
"""
import base64
import hashlib
import json
import os
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import fakecloud  # noqa: E402
from fakecloud import Reply  # noqa: E402

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs", "gce", "compute.v1.subset.json")
B = "/compute/v1/projects/{project}"
REASONS = {"not_found": "notFound", "server_error": "backendError", "too_many_requests": "rateLimitExceeded",
           "unprocessable_entity": "invalid", "bad_request": "badRequest"}
SHA256_DI = bytes.fromhex("3031300d060960864801650304020105000420")

MACHINE_TYPES = {"n1-standard-1": (1, 3840), "n1-standard-2": (2, 7680), "e2-small": (2, 2048),
                 "e2-medium": (2, 4096), "e2-standard-2": (2, 8192)}
IMAGES = {  # project -> {name: family}
    "ubuntu-os-cloud": {"ubuntu-2404-noble-amd64-v20250805": "ubuntu-2404-lts-amd64",
                        "ubuntu-2204-jammy-v20250805": "ubuntu-2204-lts"},
    "debian-cloud": {"debian-12-bookworm-v20250812": "debian-12"},
}


# ---- RS256 verification, stdlib only ----

def _der(buf, i):
    """(tag, content, next index) of the DER element at i."""
    tag = buf[i]
    n = buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return tag, buf[i:i + n], i + n


def _seq(content):
    out, i = [], 0
    while i < len(content):
        t, c, i = _der(content, i)
        out.append((t, c))
    return out


def rsa_public_from_pem(pem):
    """(n, e) of a PKCS#8 or PKCS#1 RSA private key in PEM."""
    body = "".join(l for l in pem.strip().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    _, top, _ = _der(der, 0)
    parts = _seq(top)
    if len(parts) >= 3 and parts[1][0] == 0x30 and parts[2][0] == 0x04:   # PKCS#8
        _, rsa, _ = _der(parts[2][1], 0)
        parts = _seq(rsa)
    return int.from_bytes(parts[1][1], "big"), int.from_bytes(parts[2][1], "big")


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rs256_ok(n, e, signing_input, sig):
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    m = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = SHA256_DI + hashlib.sha256(signing_input).digest()
    return m == b"\x00\x01" + b"\xff" * (k - 3 - len(t)) + b"\x00" + t


class Fake(fakecloud.FakeCloud):
    provider = "gce"

    def __init__(self):
        super().__init__(spec=SPEC, config={
            "projects": ["dm-test"], "zones": ["us-central1-a", "us-central1-b", "europe-west1-b"],
            "op_polls": 1, "op_seconds": 3, "static_tokens": [], "refresh_tokens": [], "op_fail": None,
        })
        self.keys = {}        # client_email -> (n, e)
        for path in filter(None, (os.environ.get("FAKE_GCE_SA_KEY") or "").split(":")):
            with open(path) as f:
                k = json.load(f)
            self.keys[k["client_email"]] = rsa_public_from_pem(k["private_key"])
        self.tokens = {}      # token -> (expiry, principal)
        self.ops = {}         # name -> operation state
        self.seq = 0

    # -- provider shapes --

    def gerror(self, status, reason, message, extra=None):
        e = {"code": status, "message": message,
             "errors": [{"message": message, "domain": "global", "reason": reason}]}
        e.update(extra or {})
        return Reply(status, {"error": e})

    def error_reply(self, req, status, code, message):
        return self.gerror(status, REASONS.get(code, code), message)

    def invalid_request(self, req, errors):
        return self.gerror(400, "invalid", "Invalid value: " + "; ".join(errors[:5]))

    def not_found(self, req, message=None):
        rp = req.path[len("/compute/v1/"):] if req.path.startswith("/compute/v1/") else req.path
        return self.gerror(404, "notFound", message or "The resource '%s' was not found" % rp)

    def authorize(self, req):
        self.tick()
        if req.path == "/token":
            return None
        tok = req.token()
        now = time.time()
        if tok and (tok in self.config.get("static_tokens", []) or
                    (tok in self.tokens and self.tokens[tok][0] > now)):
            return None
        return self.gerror(401, "authError",
                           "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                           "login cookie or other valid authentication credential. See "
                           "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                           {"status": "UNAUTHENTICATED"})

    def on_reset(self):
        self.tokens = {}
        self.ops = {}

    # -- helpers --

    def base(self, req):
        return "http://%s/compute/v1/" % (req.headers.get("Host") or "127.0.0.1")

    def nid(self):
        return str(self.new_id() * 7919 + 4000000000000000000)

    def stamp(self):
        return time.strftime("%Y-%m-%dT%H:%M:%S.000-07:00", time.localtime())

    def project_ok(self, req):
        return req.params["project"] in self.config["projects"]

    def zone_ok(self, req):
        return req.params.get("zone") in self.config["zones"]

    def new_op(self, req, optype, target, effect, zone=None, fail=None):
        self.seq += 1
        name = "operation-%d-%s" % (int(time.time() * 1000), uuid.uuid4().hex[:12])
        p = req.params["project"]
        op = {"kind": "compute#operation", "id": self.nid(), "name": name, "operationType": optype,
              "targetLink": target, "targetId": self.nid(), "status": "RUNNING", "progress": 0,
              "user": "dm@%s.iam.gserviceaccount.com" % p, "insertTime": self.stamp(),
              "startTime": self.stamp()}
        if zone:
            op["zone"] = self.base(req) + "projects/%s/zones/%s" % (p, zone)
            op["selfLink"] = op["zone"] + "/operations/" + name
        else:
            op["selfLink"] = self.base(req) + "projects/%s/global/operations/%s" % (p, name)
        of = self.config.get("op_fail")
        if fail is None and isinstance(of, dict) and of.get("type") == optype:
            fail = of
            self.config["op_fail"] = None
        self.ops[name] = {"op": op, "polls": 0, "t": time.time(), "effect": effect, "fail": fail,
                          "project": p, "zone": zone}
        return op

    def finish(self, st):
        op = st["op"]
        op["status"] = "DONE"
        op["progress"] = 100
        op["endTime"] = self.stamp()
        if st["fail"]:
            f = st["fail"]
            op["error"] = {"errors": [{"code": f.get("code", "QUOTA_EXCEEDED"),
                                       "message": f.get("message", "Quota exceeded.")}]}
            op["httpErrorStatusCode"] = 403
            op["httpErrorMessage"] = "FORBIDDEN"
            if st["effect"]:
                st["effect"](True)
        elif st["effect"]:
            st["effect"](False)
        st["effect"] = None

    def tick(self):
        now = time.time()
        for st in self.ops.values():
            if st["op"]["status"] != "DONE" and now - st["t"] >= float(self.config.get("op_seconds", 3)):
                self.finish(st)

    def ikey(self, req, name=None):
        return "%s/%s/%s" % (req.params["project"], req.params["zone"], name or req.params["instance"])

    def scoped(self, req, kind, pred=None):
        """Resources of one project and zone matching pred."""
        pre = "%s/%s/" % (req.params["project"], req.params["zone"])
        return [o for k, o in sorted(self.store.get(kind, {}).items()) if k.startswith(pre) and
                (pred is None or pred(o))]


cloud = Fake()


def filter_pred(expr):
    """The filters the driver sends: labels.K=V, labels.K:*, name=X (else everything)."""
    if not expr:
        return None
    expr = expr.strip()
    if expr.startswith("labels.") and "=" in expr:
        k, v = expr[7:].split("=", 1)
        v = v.strip().strip('"')
        return lambda o: (o.get("labels") or {}).get(k.strip()) == v
    if expr.startswith("labels.") and expr.endswith(":*"):
        k = expr[7:-2]
        return lambda o: k in (o.get("labels") or {})
    if expr.startswith("name") and "=" in expr:
        v = expr.split("=", 1)[1].strip().strip('"')
        return lambda o: o.get("name") == v
    return None


# ---- OAuth2 token endpoint ----

@cloud.route("POST", "/token")
def token(req):
    g = req.form.get("grant_type")
    now = time.time()
    bad = lambda d: Reply(400, {"error": "invalid_grant", "error_description": d})  # noqa: E731
    if g == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        jwt = req.form.get("assertion", "")
        parts = jwt.split(".")
        if len(parts) != 3:
            return bad("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
        try:
            hdr = json.loads(b64url_dec(parts[0]))
            cl = json.loads(b64url_dec(parts[1]))
            sig = b64url_dec(parts[2])
        except ValueError:
            return bad("Invalid JWT Signature.")
        if hdr.get("alg") != "RS256":
            return bad("Invalid JWT Signature.")
        key = cloud.keys.get(cl.get("iss"))
        if not key:
            return bad("Invalid grant: account not found")
        if not rs256_ok(key[0], key[1], (parts[0] + "." + parts[1]).encode(), sig):
            return bad("Invalid JWT Signature.")
        aud = "http://%s/token" % (req.headers.get("Host") or "")
        if cl.get("aud") != aud:
            return bad("Invalid JWT: aud %r is not %r" % (cl.get("aud"), aud))
        iat, exp = cl.get("iat"), cl.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + 60 or exp < now or exp - iat > 3600:
            return bad("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                       "timeframe. Check your iat and exp values in the JWT claim.")
        scopes = (cl.get("scope") or "").split()
        if not any(s in ("https://www.googleapis.com/auth/compute",
                         "https://www.googleapis.com/auth/cloud-platform") for s in scopes):
            return Reply(400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience provided."})
        who = cl["iss"]
    elif g == "refresh_token":
        m = [r for r in cloud.config.get("refresh_tokens", []) if r.get("client_id") == req.form.get("client_id")
             and r.get("client_secret") == req.form.get("client_secret")
             and r.get("refresh_token") == req.form.get("refresh_token")]
        if not m:
            return bad("Token has been expired or revoked.")
        who = m[0]["client_id"]
    else:
        return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: %s" % g})
    tok = "ya29.fake-" + uuid.uuid4().hex
    cloud.tokens[tok] = (now + 3600, who)
    return Reply(200, {"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})


# ---- catalogue ----

@cloud.route("GET", B, op="compute.projects.get")
def projects_get(req):
    if not cloud.project_ok(req):
        return cloud.not_found(req)
    p = req.params["project"]
    return {"kind": "compute#project", "id": cloud.nid(), "name": p, "selfLink": cloud.base(req) + "projects/" + p,
            "defaultServiceAccount": "123-compute@developer.gserviceaccount.com", "creationTimestamp": cloud.stamp()}


@cloud.route("GET", B + "/zones/{zone}", op="compute.zones.get")
def zones_get(req):
    if not cloud.project_ok(req) or not cloud.zone_ok(req):
        return cloud.not_found(req)
    z = req.params["zone"]
    return {"kind": "compute#zone", "id": cloud.nid(), "name": z, "status": "UP",
            "region": cloud.base(req) + "projects/%s/regions/%s" % (req.params["project"], z.rsplit("-", 1)[0]),
            "selfLink": cloud.base(req) + "projects/%s/zones/%s" % (req.params["project"], z)}


@cloud.route("GET", B + "/zones/{zone}/machineTypes/{machineType}", op="compute.machineTypes.get")
def machine_types_get(req):
    mt = MACHINE_TYPES.get(req.params["machineType"])
    if not cloud.project_ok(req) or not cloud.zone_ok(req) or not mt:
        return cloud.not_found(req)
    return {"kind": "compute#machineType", "id": cloud.nid(), "name": req.params["machineType"],
            "guestCpus": mt[0], "memoryMb": mt[1], "zone": req.params["zone"],
            "selfLink": cloud.base(req) + req.path[len("/compute/v1/"):]}


def image_obj(req, project, name, family):
    return {"kind": "compute#image", "id": cloud.nid(), "name": name, "family": family, "status": "READY",
            "diskSizeGb": "10", "selfLink": cloud.base(req) + "projects/%s/global/images/%s" % (project, name)}


@cloud.route("GET", B + "/global/images/{image}", op="compute.images.get")
def images_get(req):
    imgs = IMAGES.get(req.params["project"], {})
    if req.params["image"] not in imgs:
        return cloud.not_found(req)
    return image_obj(req, req.params["project"], req.params["image"], imgs[req.params["image"]])


@cloud.route("GET", B + "/global/images/family/{family}", op="compute.images.getFromFamily")
def images_family(req):
    for name, fam in IMAGES.get(req.params["project"], {}).items():
        if fam == req.params["family"]:
            return image_obj(req, req.params["project"], name, fam)
    return cloud.not_found(req)


@cloud.route("GET", B + "/regions/{region}/addresses/{address}", op="compute.addresses.get")
def addresses_get(req):
    a = cloud.get("address", "%s/%s/%s" % (req.params["project"], req.params["region"], req.params["address"]))
    return a if a else cloud.not_found(req)


# ---- operations ----

def op_get(req, zone):
    st = cloud.ops.get(req.params["operation"])
    if not st or st["project"] != req.params["project"] or st["zone"] != zone:
        return cloud.not_found(req)
    if st["op"]["status"] != "DONE":
        st["polls"] += 1
        if st["polls"] >= int(cloud.config.get("op_polls", 1)):
            cloud.finish(st)
    return st["op"]


@cloud.route("GET", B + "/zones/{zone}/operations/{operation}", op="compute.zoneOperations.get")
def zone_op_get(req):
    return op_get(req, req.params["zone"])


@cloud.route("GET", B + "/global/operations/{operation}", op="compute.globalOperations.get")
def global_op_get(req):
    return op_get(req, None)


# ---- firewalls ----

def fw_key(req, name=None):
    return "%s/%s" % (req.params["project"], name or req.params["firewall"])


@cloud.route("GET", B + "/global/firewalls/{firewall}", op="compute.firewalls.get")
def firewalls_get(req):
    fw = cloud.get("firewall", fw_key(req))
    return fw if fw else cloud.not_found(req)


def fw_obj(req, body):
    fw = fakecloud.deepcopy(body)
    fw.update({"kind": "compute#firewall", "id": cloud.nid(), "creationTimestamp": cloud.stamp(),
               "selfLink": cloud.base(req) + "projects/%s/global/firewalls/%s" % (req.params["project"], body["name"])})
    fw.setdefault("network", cloud.base(req) + "projects/%s/global/networks/default" % req.params["project"])
    fw.setdefault("direction", "INGRESS")
    fw.setdefault("priority", 1000)
    return fw


@cloud.route("POST", B + "/global/firewalls", op="compute.firewalls.insert")
def firewalls_insert(req):
    if not cloud.project_ok(req):
        return cloud.not_found(req)
    body = req.json
    if cloud.get("firewall", fw_key(req, body["name"])):
        return cloud.gerror(409, "alreadyExists", "The resource 'projects/%s/global/firewalls/%s' already exists"
                            % (req.params["project"], body["name"]))
    fw = fw_obj(req, body)
    return cloud.new_op(req, "insert", fw["selfLink"],
                        lambda failed: None if failed else cloud.add("firewall", fw_key(req, body["name"]), fw))


@cloud.route("PUT", B + "/global/firewalls/{firewall}", op="compute.firewalls.update")
def firewalls_update(req):
    if not cloud.get("firewall", fw_key(req)):
        return cloud.not_found(req)
    fw = fw_obj(req, dict(req.json, name=req.params["firewall"]))
    return cloud.new_op(req, "update", fw["selfLink"],
                        lambda failed: None if failed else cloud.add("firewall", fw_key(req), fw))


# ---- instances ----

def public(inst):
    return {k: v for k, v in inst.items() if not k.startswith("_")}


@cloud.route("GET", B + "/zones/{zone}/instances/{instance}", op="compute.instances.get")
def instances_get(req):
    inst = cloud.get("instance", cloud.ikey(req))
    return public(inst) if inst else cloud.not_found(req)


@cloud.route("GET", B + "/zones/{zone}/instances", op="compute.instances.list")
def instances_list(req):
    if not cloud.project_ok(req) or not cloud.zone_ok(req):
        return cloud.not_found(req)
    items = [public(i) for i in cloud.scoped(req, "instance", filter_pred(req.q("filter")))]
    out = {"kind": "compute#instanceList", "id": "projects/%s/zones/%s/instances" % (req.params["project"], req.params["zone"]),
           "selfLink": cloud.base(req) + req.path[len("/compute/v1/"):]}
    if items:
        out["items"] = items
    return out


@cloud.route("GET", B + "/aggregated/instances", op="compute.instances.aggregatedList")
def instances_aggregated(req):
    if not cloud.project_ok(req):
        return cloud.not_found(req)
    pred = filter_pred(req.q("filter"))
    pre = req.params["project"] + "/"
    every = [i for k, i in sorted(cloud.store.get("instance", {}).items())
             if k.startswith(pre) and (pred is None or pred(i))]
    per = int(req.q("maxResults", 500) or 500)
    start = int(req.q("pageToken", 0) or 0)
    page = every[start:start + per]
    items = {}
    for z in cloud.config["zones"]:
        mine = [public(i) for i in page if i["zone"].endswith("/zones/" + z)]
        items["zones/" + z] = {"instances": mine} if mine else {
            "warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'zones/%s' on this page." % z,
                        "data": [{"key": "scope", "value": "zones/" + z}]}}
    out = {"kind": "compute#instanceAggregatedList", "id": "projects/%s/aggregated/instances" % req.params["project"],
           "items": items, "selfLink": cloud.base(req) + req.path[len("/compute/v1/"):]}
    if start + per < len(every):
        out["nextPageToken"] = str(start + per)
    return out


def ssh_key_lines(body):
    for it in (body.get("metadata") or {}).get("items") or []:
        if it.get("key") in ("ssh-keys", "sshKeys"):
            return [l for l in (it.get("value") or "").splitlines() if l.strip()]
    return []


@cloud.route("POST", B + "/zones/{zone}/instances", op="compute.instances.insert")
def instances_insert(req):
    p, z = req.params["project"], req.params["zone"]
    if not cloud.project_ok(req) or not cloud.zone_ok(req):
        return cloud.not_found(req, "The resource 'projects/%s/zones/%s' was not found" % (p, z))
    body = req.json
    name = body["name"]
    if cloud.get("instance", cloud.ikey(req, name)):
        return cloud.gerror(409, "alreadyExists", "The resource 'projects/%s/zones/%s/instances/%s' already exists" % (p, z, name))
    mt = (body.get("machineType") or "").rsplit("/", 1)[-1]
    if mt not in MACHINE_TYPES:
        return cloud.gerror(400, "invalid", "Invalid value for field 'resource.machineType': '%s'. "
                            "Machine type with name '%s' does not exist in zone '%s'." % (body.get("machineType"), mt, z))
    disks = body.get("disks") or []
    if not disks or not any(d.get("boot") for d in disks):
        return cloud.gerror(400, "invalid", "Invalid value for field 'resource.disks': ''. Boot disk must be specified.")
    nis = body.get("networkInterfaces") or []
    if not nis:
        return cloud.gerror(400, "invalid", "Invalid value for field 'resource.networkInterfaces': ''. "
                            "At least one network interface is required.")
    base = cloud.base(req)
    zlink = base + "projects/%s/zones/%s" % (p, z)
    inst = fakecloud.deepcopy(body)
    inst.update({"kind": "compute#instance", "id": cloud.nid(), "creationTimestamp": cloud.stamp(),
                 "status": "PROVISIONING", "zone": zlink, "machineType": zlink + "/machineTypes/" + mt,
                 "selfLink": zlink + "/instances/" + name, "cpuPlatform": "Intel Broadwell"})
    attached = []
    for i, d in enumerate(disks):
        ip = d.get("initializeParams") or {}
        dname = ip.get("diskName") or name + ("" if i == 0 else "-%d" % i)
        if d.get("source"):
            dname = d["source"].rsplit("/", 1)[-1]
        elif cloud.get("disk", cloud.ikey(req, dname)):
            return cloud.gerror(409, "alreadyExists", "The resource 'projects/%s/zones/%s/disks/%s' already exists" % (p, z, dname))
        attached.append({"kind": "compute#attachedDisk", "type": d.get("type", "PERSISTENT"), "mode": d.get("mode", "READ_WRITE"),
                         "source": zlink + "/disks/" + dname, "deviceName": d.get("deviceName", "persistent-disk-%d" % i),
                         "index": i, "boot": bool(d.get("boot")), "autoDelete": bool(d.get("autoDelete")),
                         "diskSizeGb": str(ip.get("diskSizeGb", "10")), "interface": "SCSI",
                         "_init": None if d.get("source") else ip, "_name": dname})
    keys = ssh_key_lines(body)
    natip = None
    for n, ni in enumerate(nis):
        ni["name"] = "nic%d" % n
        ni["networkIP"] = "10.128.0.%d" % (len(cloud.list("instance")) % 250 + 2)
        ni.setdefault("network", base + "projects/%s/global/networks/default" % p)
        for ac in ni.get("accessConfigs") or []:
            ac["kind"] = "compute#accessConfig"
            ac.setdefault("name", "external-nat")
            if not ac.get("natIP"):
                natip = natip or cloud.hand_out_ip(keys)
                ac["natIP"] = natip
            ac["networkTier"] = "PREMIUM"
    inst["networkInterfaces"] = nis
    if not natip and keys:
        cloud.hand_out_ip(keys)     # the guest agent still installs the keys
    inst["disks"] = [{k: v for k, v in a.items() if not k.startswith("_")} for a in attached]
    inst.setdefault("metadata", {})["fingerprint"] = base64.b64encode(uuid.uuid4().bytes[:8]).decode()
    inst["metadata"]["kind"] = "compute#metadata"
    if "tags" in inst:
        inst["tags"]["fingerprint"] = base64.b64encode(uuid.uuid4().bytes[:8]).decode()
    key = cloud.ikey(req, name)
    cloud.add("instance", key, inst)
    for a in attached:
        if a["_init"] is not None:
            ip = a["_init"]
            cloud.add("disk", cloud.ikey(req, a["_name"]), {
                "kind": "compute#disk", "id": cloud.nid(), "name": a["_name"], "zone": zlink, "status": "CREATING",
                "sizeGb": str(ip.get("diskSizeGb", "10")), "sourceImage": ip.get("sourceImage", ""),
                "type": ip.get("diskType") or zlink + "/diskTypes/pd-standard", "labels": ip.get("labels") or {},
                "users": [inst["selfLink"]], "selfLink": zlink + "/disks/" + a["_name"],
                "creationTimestamp": cloud.stamp()})

    def done(failed):
        if failed:   # a failed insert leaves nothing
            cloud.delete("instance", key)
            for a in attached:
                if a["_init"] is not None:
                    cloud.delete("disk", cloud.ikey(req, a["_name"]))
            return
        inst["status"] = "RUNNING"
        inst["lastStartTimestamp"] = cloud.stamp()
        for a in attached:
            dk = cloud.get("disk", cloud.ikey(req, a["_name"]))
            if dk:
                dk["status"] = "READY"
    return cloud.new_op(req, "insert", inst["selfLink"], done, zone=z)


def power(req, optype, during, after):
    inst = cloud.get("instance", cloud.ikey(req))
    if not inst:
        return cloud.not_found(req)
    if during:
        inst["status"] = during

    def done(failed):
        if not failed and after:
            inst["status"] = after
    return cloud.new_op(req, optype, inst["selfLink"], done, zone=req.params["zone"])


@cloud.route("POST", B + "/zones/{zone}/instances/{instance}/stop", op="compute.instances.stop")
def instances_stop(req):
    return power(req, "stop", "STOPPING", "TERMINATED")


@cloud.route("POST", B + "/zones/{zone}/instances/{instance}/start", op="compute.instances.start")
def instances_start(req):
    return power(req, "start", "STAGING", "RUNNING")


@cloud.route("POST", B + "/zones/{zone}/instances/{instance}/reset", op="compute.instances.reset")
def instances_reset(req):
    inst = cloud.get("instance", cloud.ikey(req))
    if inst and inst["status"] != "RUNNING":
        return cloud.gerror(400, "resourceNotReady", "The resource 'projects/%s/zones/%s/instances/%s' is not ready"
                            % (req.params["project"], req.params["zone"], req.params["instance"]))
    return power(req, "reset", None, "RUNNING")


@cloud.route("POST", B + "/zones/{zone}/instances/{instance}/setMetadata", op="compute.instances.setMetadata")
def instances_set_metadata(req):
    inst = cloud.get("instance", cloud.ikey(req))
    if not inst:
        return cloud.not_found(req)
    if req.json.get("fingerprint") != inst["metadata"].get("fingerprint"):
        return cloud.gerror(412, "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint.")
    keys = ssh_key_lines(req.json)
    md = {"kind": "compute#metadata", "items": req.json.get("items") or [],
          "fingerprint": base64.b64encode(uuid.uuid4().bytes[:8]).decode()}

    def done(failed):
        if not failed:
            inst["metadata"] = md
            if keys:
                cloud.hand_out_ip(keys)
    return cloud.new_op(req, "setMetadata", inst["selfLink"], done, zone=req.params["zone"])


@cloud.route("DELETE", B + "/zones/{zone}/instances/{instance}", op="compute.instances.delete")
def instances_delete(req):
    key = cloud.ikey(req)
    inst = cloud.get("instance", key)
    if not inst:
        return cloud.not_found(req)
    inst["status"] = "STOPPING"

    def done(failed):
        if failed:
            return
        cloud.delete("instance", key)
        for a in inst.get("disks", []):
            dk = cloud.ikey(req, a["source"].rsplit("/", 1)[-1])
            d = cloud.get("disk", dk)
            if d:
                d["users"] = [u for u in d.get("users", []) if u != inst["selfLink"]]
                if a.get("autoDelete"):
                    cloud.delete("disk", dk)
    return cloud.new_op(req, "delete", inst["selfLink"], done, zone=req.params["zone"])


# ---- disks ----

@cloud.route("GET", B + "/zones/{zone}/disks/{disk}", op="compute.disks.get")
def disks_get(req):
    d = cloud.get("disk", cloud.ikey(req, req.params["disk"]))
    return d if d else cloud.not_found(req)


@cloud.route("GET", B + "/zones/{zone}/disks", op="compute.disks.list")
def disks_list(req):
    if not cloud.project_ok(req) or not cloud.zone_ok(req):
        return cloud.not_found(req)
    items = cloud.scoped(req, "disk", filter_pred(req.q("filter")))
    out = {"kind": "compute#diskList", "id": "projects/%s/zones/%s/disks" % (req.params["project"], req.params["zone"]),
           "selfLink": cloud.base(req) + req.path[len("/compute/v1/"):]}
    if items:
        out["items"] = items
    return out


@cloud.route("DELETE", B + "/zones/{zone}/disks/{disk}", op="compute.disks.delete")
def disks_delete(req):
    key = cloud.ikey(req, req.params["disk"])
    d = cloud.get("disk", key)
    if not d:
        return cloud.not_found(req)
    if d.get("users"):
        return cloud.gerror(400, "resourceInUseByAnotherResource",
                            "The disk resource '%s' is already being used by '%s'" % (
                                d["selfLink"][len(cloud.base(req)):], d["users"][0][len(cloud.base(req)):]))
    return cloud.new_op(req, "delete", d["selfLink"],
                        lambda failed: None if failed else cloud.delete("disk", key), zone=req.params["zone"])


if __name__ == "__main__":
    sys.exit(fakecloud.main(cloud))
