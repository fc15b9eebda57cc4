#!/usr/bin/env python3
"""fake_digitalocean.py - a stateful fake of the DigitalOcean API v2 (the
operations dm-driver-digitalocean uses), checked against the spec subset in
specs/digitalocean/v2-subset.json.

    fake_digitalocean.py [--port N] [--port-file F]

Accepted token: $FAKE_DO_TOKEN (default "dop_v1_fake"); anything else is 401.
Config (POST /_config): boot_polls (GETs of a new droplet before it is
active with an address, default 1), action_polls (GETs of an action before it
completes, default 1).  Fixtures: regions nyc1 nyc3 sfo3 (ams2 unavailable),
sizes s-1vcpu-1gb s-2vcpu-2gb (s-8vcpu-16gb only in sfo3), images
ubuntu-24-04-x64 debian-12-x64 (id 100001 / 100002); a seeded account key
with fingerprint $FAKE_DO_FINGERPRINT (default
"3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa").
"""
import base64
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import fakecloud  # noqa: E402
from fakecloud import Reply  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = os.environ.get("FAKE_DO_TOKEN", "dop_v1_fake")
SEED_FP = os.environ.get("FAKE_DO_FINGERPRINT", "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa")
SEED_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeSeededKeyForTestsOnly0000000000000000 seeded"

SIZES = {
    "s-1vcpu-1gb": (1024, 1, 25, 6.0),
    "s-2vcpu-2gb": (2048, 2, 60, 18.0),
    "s-8vcpu-16gb": (16384, 8, 320, 96.0),
}
REGIONS = {
    "nyc1": ("New York 1", True, ["s-1vcpu-1gb", "s-2vcpu-2gb"]),
    "nyc3": ("New York 3", True, ["s-1vcpu-1gb", "s-2vcpu-2gb"]),
    "sfo3": ("San Francisco 3", True, ["s-1vcpu-1gb", "s-2vcpu-2gb", "s-8vcpu-16gb"]),
    "ams2": ("Amsterdam 2", False, []),
}
IMAGES = {
    "ubuntu-24-04-x64": (100001, "Ubuntu", "24.04 (LTS) x64"),
    "debian-12-x64": (100002, "Debian", "12 x64"),
}


def region_obj(slug):
    name, avail, sizes = REGIONS[slug]
    return {"slug": slug, "name": name, "available": avail, "sizes": sizes,
            "features": ["backups", "ipv6", "metadata", "monitoring"]}


def size_obj(slug):
    mem, cpu, disk, price = SIZES[slug]
    return {"slug": slug, "memory": mem, "vcpus": cpu, "disk": disk, "transfer": 1.0,
            "price_monthly": price, "price_hourly": round(price / 730, 5),
            "regions": [r for r, v in REGIONS.items() if slug in v[2]], "available": True,
            "description": "Basic"}


def image_obj(slug):
    iid, dist, name = IMAGES[slug]
    return {"id": iid, "name": name, "distribution": dist, "slug": slug, "public": True,
            "regions": list(REGIONS), "type": "base", "min_disk_size": 15, "size_gigabytes": 2.3,
            "created_at": "2024-04-25T00:00:00Z", "description": dist + " " + name,
            "tags": [], "status": "available"}


def fingerprint(pub):
    try:
        blob = base64.b64decode(pub.split()[1], validate=True)
    except (IndexError, ValueError):
        return None
    h = hashlib.md5(blob).hexdigest()
    return ":".join(h[i:i + 2] for i in range(0, 32, 2))


class FakeDO(fakecloud.FakeCloud):
    provider = "digitalocean"

    def __init__(self):
        super().__init__(spec=os.path.join(HERE, "specs", "digitalocean", "v2-subset.json"),
                         config={"boot_polls": 1, "action_polls": 1})
        self.actions = {}
        self.on_reset()

    def on_reset(self):
        self.actions = {}
        self.add("ssh_key", 1, {"id": 1, "fingerprint": SEED_FP, "public_key": SEED_PUB,
                                "name": "seeded"}, seeded=True)

    def error_reply(self, req, status, code, message):
        return Reply(status, {"id": code, "message": message, "request_id": fakecloud.request_id()},
                     headers={"ratelimit-limit": "5000", "ratelimit-remaining": "4999"})

    def authorize(self, req):
        if req.token() != TOKEN:
            return self.error_reply(req, 401, "Unauthorized", "Unable to authenticate you")
        return None


cloud = FakeDO()


def meta_list(req, key, items):
    page, pg, per = cloud.paginate(req, items, default=20, maximum=200)
    out = {key: page, "links": {}, "meta": {"total": len(items)}}
    if pg * per < len(items):
        out["links"]["pages"] = {"next": "%s?page=%d&per_page=%d" % (req.path, pg + 1, per),
                                 "last": "%s?page=%d&per_page=%d" % (req.path, (len(items) + per - 1) // per, per)}
    return out


# ---- account, catalogue ----

@cloud.route("GET", "/v2/account", op="account_get")
def account(req):
    return {"account": {"droplet_limit": 1000, "floating_ip_limit": 10, "email": "test@example.com",
                        "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef", "email_verified": True,
                        "status": "active", "status_message": ""}}


@cloud.route("GET", "/v2/regions", op="regions_list")
def regions(req):
    return meta_list(req, "regions", [region_obj(r) for r in REGIONS])


@cloud.route("GET", "/v2/sizes", op="sizes_list")
def sizes(req):
    return meta_list(req, "sizes", [size_obj(s) for s in SIZES])


def find_image(ref):
    for slug, v in IMAGES.items():
        if str(ref) in (slug, str(v[0])):
            return slug
    return None


@cloud.route("GET", "/v2/images/{image_id}", op="images_get")
def image(req):
    slug = find_image(req.params["image_id"])
    if not slug:
        return cloud.not_found(req)
    return {"image": image_obj(slug)}


# ---- keys ----

def key_by_ref(ref):
    for k in cloud.list("ssh_key"):
        if str(k["id"]) == ref or k["fingerprint"] == ref:
            return k
    return None


@cloud.route("GET", "/v2/account/keys", op="sshKeys_list")
def keys_list(req):
    return meta_list(req, "ssh_keys", sorted(cloud.list("ssh_key"), key=lambda k: k["id"]))


@cloud.route("POST", "/v2/account/keys", op="sshKeys_create")
def keys_create(req):
    b = req.json
    fp = fingerprint(b["public_key"])
    if not fp:
        return cloud.error_reply(req, 422, "unprocessable_entity", "Key invalid type, we support 'ssh-rsa', "
                                 "'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', or 'ecdsa-sha2-nistp521'")
    if any(k["fingerprint"] == fp for k in cloud.list("ssh_key")):
        return cloud.error_reply(req, 422, "unprocessable_entity", "SSH Key is already in use on your account")
    kid = cloud.new_id()
    k = cloud.add("ssh_key", kid, {"id": kid, "fingerprint": fp, "public_key": b["public_key"],
                                   "name": b["name"]})
    return Reply(201, {"ssh_key": k})


@cloud.route("GET", "/v2/account/keys/{ssh_key_identifier}", op="sshKeys_get")
def keys_get(req):
    k = key_by_ref(req.params["ssh_key_identifier"])
    return {"ssh_key": k} if k else cloud.not_found(req)


@cloud.route("DELETE", "/v2/account/keys/{ssh_key_identifier}", op="sshKeys_delete")
def keys_delete(req):
    k = key_by_ref(req.params["ssh_key_identifier"])
    if not k:
        return cloud.not_found(req)
    cloud.delete("ssh_key", k["id"])
    return Reply(204)


# ---- droplets ----

def droplet_view(d):
    """The droplet as the API shows it (a GET advances a new droplet)."""
    out = dict(d)
    out.pop("_polls", None)
    out.pop("_ip", None)
    return out


def advance(d):
    if d["status"] == "new":
        d["_polls"] += 1
        if d["_polls"] > cloud.config.get("boot_polls", 1):
            d["status"] = "active"
            d["networks"]["v4"] = [
                {"ip_address": d["_ip"], "netmask": "255.255.255.0", "gateway": "10.0.0.1", "type": "public"},
                {"ip_address": "10.132.0.%d" % (d["id"] % 250 + 1), "netmask": "255.255.0.0",
                 "gateway": "10.132.0.1", "type": "private"}]
            if d["features"] and "ipv6" in d["features"]:
                d["networks"]["v6"] = [{"ip_address": "2604:a880:800:10::%x" % d["id"], "netmask": 64,
                                        "gateway": "2604:a880:800:10::1", "type": "public"}]


@cloud.route("GET", "/v2/droplets", op="droplets_list")
def droplets_list(req):
    tag = req.q("tag_name")
    ds = sorted(cloud.list("droplet"), key=lambda d: d["id"])
    if tag:
        ds = [d for d in ds if tag in d["tags"]]
    for d in ds:
        advance(d)
    return meta_list(req, "droplets", [droplet_view(d) for d in ds])


@cloud.route("POST", "/v2/droplets", op="droplets_create")
def droplets_create(req):
    b = req.json
    if "names" in b:
        return cloud.error_reply(req, 422, "unprocessable_entity", "the fake creates one droplet at a time")
    region = b.get("region") or "nyc3"
    if region not in REGIONS or not REGIONS[region][1]:
        return cloud.error_reply(req, 422, "unprocessable_entity", "Region is not available")
    size = b.get("size")
    if size not in SIZES or size not in REGIONS[region][2]:
        return cloud.error_reply(req, 422, "unprocessable_entity", "Size is not available in this region.")
    img = find_image(b.get("image"))
    if not img:
        return cloud.error_reply(req, 422, "unprocessable_entity", "You specified an invalid image for Droplet creation.")
    pubkeys = []
    for ref in b.get("ssh_keys") or []:
        k = key_by_ref(str(ref))
        if not k:
            return cloud.error_reply(req, 422, "unprocessable_entity", "ssh_keys %s is invalid" % ref)
        pubkeys.append(k["public_key"])
    for t in b.get("tags") or []:
        if not re.match(r"^[a-zA-Z0-9_\-:]{1,255}$", t):
            return cloud.error_reply(req, 422, "unprocessable_entity",
                                     "tag names must be letters, numbers, colons, dashes and underscores")
    did = cloud.new_id()
    mem, cpu, disk, _ = SIZES[size]
    feats = [f for f, on in (("backups", b.get("backups")), ("ipv6", b.get("ipv6")),
                             ("monitoring", b.get("monitoring")),
                             ("private_networking", b.get("private_networking"))) if on]
    d = {"id": did, "name": b["name"], "memory": mem, "vcpus": cpu, "disk": disk, "locked": False,
         "status": "new", "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "features": feats, "backup_ids": [], "next_backup_window": None, "snapshot_ids": [],
         "image": image_obj(img), "volume_ids": [], "size": size_obj(size), "size_slug": size,
         "networks": {"v4": [], "v6": []}, "region": region_obj(region), "tags": list(b.get("tags") or []),
         "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000",
         "_polls": 0, "_ip": cloud.hand_out_ip(pubkeys)}
    d["user_data"] = b.get("user_data")
    cloud.add("droplet", did, d)
    view = droplet_view(d)
    view.pop("user_data", None)
    return Reply(202, {"droplet": view, "links": {"actions": [
        {"id": cloud.new_id(), "rel": "create", "href": "/v2/actions/0"}]}})


@cloud.route("GET", "/v2/droplets/{droplet_id}", op="droplets_get")
def droplets_get(req):
    d = cloud.get("droplet", req.params["droplet_id"])
    if not d:
        return cloud.not_found(req)
    advance(d)
    v = droplet_view(d)
    v.pop("user_data", None)
    return {"droplet": v}


@cloud.route("DELETE", "/v2/droplets/{droplet_id}", op="droplets_destroy")
def droplets_delete(req):
    if not cloud.delete("droplet", req.params["droplet_id"]):
        return cloud.not_found(req)
    return Reply(204)


@cloud.route("DELETE", "/v2/droplets", op="droplets_destroy_byTag")
def droplets_delete_tag(req):
    tag = req.q("tag_name")
    for d in list(cloud.list("droplet")):
        if tag in d["tags"]:
            cloud.delete("droplet", d["id"])
    return Reply(204)


# ---- actions ----

EFFECT = {"power_on": "active", "shutdown": "off", "power_off": "off", "reboot": "active",
          "power_cycle": "active"}


def action_view(a):
    return {k: v for k, v in a.items() if not k.startswith("_")}


def action_poll(a):
    if a["status"] == "in-progress":
        a["_polls"] += 1
        if a["_polls"] > cloud.config.get("action_polls", 1):
            a["status"] = "completed"
            a["completed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            d = cloud.get("droplet", a["resource_id"])
            if d and a["type"] in EFFECT:
                d["status"] = EFFECT[a["type"]]
    return action_view(a)


@cloud.route("POST", "/v2/droplets/{droplet_id}/actions", op="dropletActions_post")
def droplet_action(req):
    d = cloud.get("droplet", req.params["droplet_id"])
    if not d:
        return cloud.not_found(req)
    t = req.json["type"]
    if t not in EFFECT:
        return cloud.error_reply(req, 422, "unprocessable_entity", "the fake does not do %s" % t)
    if t == "power_on" and d["status"] == "active":
        return cloud.error_reply(req, 422, "unprocessable_entity", "Droplet is already powered on.")
    if t in ("shutdown", "power_off") and d["status"] == "off":
        return cloud.error_reply(req, 422, "unprocessable_entity", "Droplet is already powered off.")
    aid = cloud.new_id()
    a = {"id": aid, "status": "in-progress", "type": t, "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "completed_at": None, "resource_id": d["id"], "resource_type": "droplet",
         "region": d["region"], "region_slug": d["region"]["slug"], "_polls": 0}
    cloud.actions[aid] = a
    if cloud.config.get("action_polls", 1) <= 0:
        action_poll(a)
    return Reply(201, {"action": action_view(a)})


@cloud.route("GET", "/v2/actions/{action_id}", op="actions_get")
def action_get(req):
    a = cloud.actions.get(int(req.params["action_id"])) if req.params["action_id"].isdigit() else None
    return {"action": action_poll(a)} if a else cloud.not_found(req)


@cloud.route("GET", "/v2/droplets/{droplet_id}/actions/{action_id}", op="dropletActions_get")
def droplet_action_get(req):
    return action_get(req)


if __name__ == "__main__":
    sys.exit(fakecloud.main(cloud))
