#!/usr/bin/env python3
"""derive.py - regenerate compute.v1.subset.json from the Compute Engine v1
discovery document (googleapis/googleapis google/cloud/compute/v1/compute.v1.json,
revision 20230610, Apache-2.0; see LICENSE-NOTE).

    tests/fakes/specs/gce/derive.py [SRC] > tests/fakes/specs/gce/compute.v1.subset.json

SRC defaults to ../shared/api-specs/gce/compute.v1.json next to the repo.
Kept: the methods dm-driver-google calls (parameters, paths, request and
response refs), every schema they reach through $ref (properties with type,
format, enum, items, $ref, annotations.required), and the top-level rootUrl,
servicePath, revision and auth scopes.  Descriptions are dropped.
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
    "firewalls": ["get", "insert"],
    "disks": ["get", "delete", "list"],
    "addresses": ["get"],
}

DROP = ("description", "enumDescriptions")


def strip(v, names=False):
    """Drop prose; keys of a "properties"/"parameters" map are names, kept."""
    if isinstance(v, dict):
        return {k: strip(x, k in ("properties", "parameters") and not names)
                for k, x in v.items() if names or k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def refs(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "$ref":
                out.add(x)
            else:
                refs(x, out)
    elif isinstance(v, list):
        for x in v:
            refs(x, out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "../../../../../shared/api-specs/gce/compute.v1.json")
    with open(src) as f:
        d = json.load(f)
    out = {k: d[k] for k in ("kind", "name", "version", "revision", "rootUrl",
                             "servicePath", "baseUrl", "basePath")}
    out["source"] = ("googleapis/googleapis google/cloud/compute/v1/compute.v1.json "
                     "(derived by tests/fakes/specs/gce/derive.py; Apache-2.0)")
    out["auth"] = {"scopes": sorted(d["auth"]["oauth2"]["scopes"])}
    out["resources"] = {}
    want = set()
    for res, ms in METHODS.items():
        r = out["resources"].setdefault(res, {"methods": {}})
        for m in ms:
            x = strip(d["resources"][res]["methods"][m])
            r["methods"][m] = x
            refs(x, want)
    schemas = {}
    while want:
        n = want.pop()
        if n in schemas:
            continue
        schemas[n] = strip(d["schemas"][n])
        more = set()
        refs(schemas[n], more)
        want |= more - set(schemas)
    out["schemas"] = dict(sorted(schemas.items()))
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
