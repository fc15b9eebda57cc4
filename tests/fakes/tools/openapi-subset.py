#!/usr/bin/env python3
"""openapi-subset.py - derive a fake's spec subset (tests/fakes/lib/fakecloud.py
format) from an OpenAPI 3 document in JSON whose $refs are inlined.

    openapi-subset.py SPEC.json OUT.json OPERATION_ID... [--source TEXT] [--license TEXT]

Keeps, per operation: method, path, parameters (name, in, required, schema),
the application/json request body schema, and the application/json response
schemas by status.  Drops prose (description, example(s), x-*) so the subset
stays small; keeps everything a validator reads (type, nullable, enum,
required, properties, additionalProperties, items, allOf/anyOf/oneOf,
minimum/maximum, min/maxLength, pattern, readOnly, writeOnly).
"""
import json
import sys

KEEP = {"type", "nullable", "enum", "const", "required", "properties", "additionalProperties",
        "items", "allOf", "anyOf", "oneOf", "not", "minimum", "maximum", "minLength",
        "maxLength", "pattern", "minItems", "maxItems", "readOnly", "writeOnly", "default",
        "format", "$ref"}


def strip(s):
    if isinstance(s, list):
        return [strip(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k not in KEEP:
            continue
        if k == "properties":
            out[k] = {name: strip(p) for name, p in v.items()}
        elif k in ("items", "not") or (k == "additionalProperties" and isinstance(v, dict)):
            out[k] = strip(v)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [strip(x) for x in v]
        else:
            out[k] = v
    return out


def json_schema(content):
    c = (content or {}).get("application/json")
    return strip(c["schema"]) if c and "schema" in c else None


def main(argv):
    args, opts = [], {"--source": "", "--license": ""}
    it = iter(argv)
    for a in it:
        if a in opts:
            opts[a] = next(it)
        else:
            args.append(a)
    if len(args) < 3:
        sys.stderr.write(__doc__)
        return 2
    src, out, wanted = args[0], args[1], args[2:]
    with open(src) as f:
        doc = json.load(f)
    ops = {}
    for path, item in doc["paths"].items():
        common = item.get("parameters", [])
        for method, o in item.items():
            if not isinstance(o, dict) or o.get("operationId") not in wanted:
                continue
            entry = {"method": method.upper(), "path": path, "parameters": []}
            for p in common + o.get("parameters", []):
                entry["parameters"].append({"name": p["name"], "in": p["in"],
                                            "required": bool(p.get("required")),
                                            "schema": strip(p.get("schema", {}))})
            rb = o.get("requestBody")
            if rb:
                sch = json_schema(rb.get("content"))
                if sch is not None:
                    entry["requestBody"] = {"required": bool(rb.get("required")), "schema": sch}
            entry["responses"] = {}
            for st, r in (o.get("responses") or {}).items():
                sch = json_schema(r.get("content"))
                entry["responses"][st] = {"schema": sch} if sch is not None else {}
            ops[o["operationId"]] = entry
    missing = sorted(set(wanted) - set(ops))
    if missing:
        sys.stderr.write("openapi-subset: operations not in %s: %s\n" % (src, " ".join(missing)))
        return 1
    res = {"source": opts["--source"] or "%s (%s)" % (doc.get("info", {}).get("title", src), src),
           "license": opts["--license"], "generated_by": "tests/fakes/tools/openapi-subset.py",
           "operations": {k: ops[k] for k in wanted}}
    with open(out + ".tmp", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    import os
    os.rename(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
