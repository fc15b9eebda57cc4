#!/usr/bin/env python3
"""derive.py - regenerate compute.v1.subset.json (the tests/fakes/lib/fakecloud.py
spec format) from the Compute Engine v1 discovery document
(googleapis/googleapis google/cloud/compute/v1/compute.v1.json, revision
20230610, Apache-2.0; see LICENSE-NOTE).

    tests/fakes/specs/gce/derive.py [SRC] > tests/fakes/specs/gce/compute.v1.subset.json

SRC defaults to ../shared/api-specs/gce/compute.v1.json next to the repository.

Conversion, mechanical:
  * operations: the methods dm-driver-google calls (METHODS below), keyed by
    their discovery id ("compute.instances.insert"); path = "/compute/v1/" +
    the discovery path; parameters keep location, required, type, enum and
    pattern (anchored: discovery patterns match whole values);
  * request bodies: {"$ref": Schema} plus "required" from the schema's
    annotations.required naming that method (Instance.name for
    compute.instances.insert, Firewall.name for compute.firewalls.insert);
  * schemas (definitions): every schema reached through $ref; properties keep
    type, enum, items, additionalProperties and $ref; discovery's int64/uint64
    (type "string", format "int64") stay strings; type "any" is untyped; a
    property documented "[Output Only]" becomes readOnly (may not be sent);
  * responses: 200 -> the method's response schema.
Prose is dropped.
"""
import json
import os
import sys

METHODS = {
    "projects": ["get"],
    "zones": ["get"],
    "machineTypes": ["get"],
    "images": ["get", "getFromFamily"],
    "instances": ["get", "insert", "delete", "start", "stop", "reset", "list",
                  "aggregatedList", "setMetadata"],
    "zoneOperations": ["get"],
    "globalOperations": ["get"],
    "firewalls": ["get", "insert", "update"],
    "disks": ["get", "delete", "list"],
    "addresses": ["get"],
}


def conv(s, defs_needed):
    """A discovery schema -> the JSON Schema subset."""
    out = {}
    if "$ref" in s:
        defs_needed.add(s["$ref"])
        return {"$ref": "#/definitions/" + s["$ref"]}
    t = s.get("type")
    if t and t != "any":
        out["type"] = t
    if "format" in s:
        out["format"] = s["format"]
    if "enum" in s:
        out["enum"] = s["enum"]
    if "pattern" in s:
        out["pattern"] = "^(?:%s)$" % s["pattern"]
    if "items" in s:
        out["items"] = conv(s["items"], defs_needed)
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = conv(s["additionalProperties"], defs_needed)
    if "properties" in s:
        props = {}
        for name, p in s["properties"].items():
            c = conv(p, defs_needed)
            if p.get("description", "").lstrip().startswith("[Output Only]"):
                c = {"allOf": [c], "readOnly": True} if "$ref" in c else dict(c, readOnly=True)
            props[name] = c
        out["properties"] = props
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "../../../../../shared/api-specs/gce/compute.v1.json")
    with open(src) as f:
        d = json.load(f)
    want = set()
    ops = {}
    for res, ms in METHODS.items():
        for m in ms:
            x = d["resources"][res]["methods"][m]
            op = {"method": x["httpMethod"], "path": "/compute/v1/" + x["path"], "parameters": []}
            for name, p in sorted(x.get("parameters", {}).items()):
                op["parameters"].append({"name": name, "in": p["location"],
                                         "required": bool(p.get("required")),
                                         "schema": conv(p, want)})
            if "request" in x:
                ref = x["request"]["$ref"]
                want.add(ref)
                req = [k for k, p in d["schemas"][ref].get("properties", {}).items()
                       if x["id"] in (p.get("annotations") or {}).get("required", [])]
                body = {"$ref": "#/definitions/" + ref}
                if req:
                    body = {"allOf": [body], "required": sorted(req), "type": "object"}
                op["requestBody"] = {"required": True, "schema": body}
            if "response" in x:
                want.add(x["response"]["$ref"])
                op["responses"] = {"200": {"schema": {"$ref": "#/definitions/" + x["response"]["$ref"]}}}
            ops[x["id"]] = op
    defs = {}
    while want:
        n = want.pop()
        if n in defs:
            continue
        more = set()
        defs[n] = conv(d["schemas"][n], more)
        want |= more - set(defs)
    out = {
        "source": "googleapis/googleapis google/cloud/compute/v1/compute.v1.json "
                  "(discovery revision %s), derived by tests/fakes/specs/gce/derive.py" % d["revision"],
        "license": "Apache-2.0 (see tests/fakes/specs/LICENSE-2.0.txt and gce/LICENSE-NOTE)",
        "rootUrl": d["rootUrl"], "servicePath": d["servicePath"],
        "scopes": sorted(d["auth"]["oauth2"]["scopes"]),
        "operations": ops,
        "definitions": dict(sorted(defs.items())),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
