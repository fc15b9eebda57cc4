"""fakecloud - the framework for the fake provider APIs the driver tests run against.

A fake is a small stateful HTTP server on 127.0.0.1 (python3 stdlib only):

    import fakecloud
    from fakecloud import Reply

    class Fake(fakecloud.FakeCloud):
        provider = "digitalocean"
        def error_reply(self, req, status, code, message):   # the provider's error shape
            return Reply(status, {"id": code, "message": message})
        def authorize(self, req):                             # None = allowed, else a Reply
            ...

    cloud = Fake(spec=".../subset.json")                      # the spec subset (see below)

    @cloud.route("GET", "/v2/droplets/{droplet_id}", op="droplets_get")
    def get(req):
        d = cloud.get("droplet", req.params["droplet_id"])
        return Reply(200, {"droplet": d}) if d else cloud.not_found(req)

    if __name__ == "__main__":
        fakecloud.main(cloud)          # --port N (0 = free), --port-file F; prints the port

A handler gets a Request (method, path, query {k: [v]}, headers, body bytes,
json (parsed JSON body or None), form (parsed urlencoded body: {k: v}), params
(path template variables), op) and returns a Reply(status, body, headers)
(body: dict/list -> JSON, str/bytes as is), a (status, body) tuple, or a dict
(200).  Handlers run under cloud.lock (one at a time), so they may touch the
store freely.  Routes that cannot be told apart by method and path (EC2's
Action=…, a form field) set req.op themselves: a handler may call
cloud.set_op(req, "RunInstances") before anything else, or register with
route_action(method, path, field, value, fn) which dispatches on a form or
query field.

Spec checking.  The spec subset is JSON:

    {"source": "...", "license": "...",
     "definitions": {"Name": <schema>, ...},                 # for "$ref": "#/definitions/Name"
     "operations": {"<op>": {"method": "POST", "path": "/v2/droplets",
                             "parameters": [{"name", "in": "query|path|header",
                                             "required": bool, "schema": <schema>}],
                             "requestBody": {"required": bool, "schema": <schema>},
                             "form": <schema>,               # urlencoded body as an object
                             "responses": {"202": {"schema": <schema>}}}}}

<schema> is the JSON Schema subset OpenAPI uses: type (string or list),
nullable, enum, const, required, properties, additionalProperties (bool or
schema), items, minItems, maxItems, allOf, anyOf, oneOf, not, minimum, maximum,
minLength, maxLength, pattern, $ref.  readOnly properties may not be sent.
Every request of an operation found in the spec is checked (parameters, body);
a violation answers the provider's error (invalid_request(), default 422) and
is recorded.  Every reply with a schema for its status is checked too; a reply
violation is recorded (the reply still goes out) so a test can fail on it.

Control endpoints (no auth):
    POST /_fault    {"match": "POST /v2/droplets", "after": N, "times": K, "kind": K,
                     "phase": "before|after", "status": S, "body": B, "retry_after": SEC,
                     "seconds": SEC}
                    match: fnmatch pattern tried against "METHOD /concrete/path",
                    "METHOD /template/{var}" and the op name; after: let N matching
                    requests through first (default 0); times: how many to fail
                    (default 1, 0 = every one from then on); kind: "500" (any status
                    number: the provider's error with that status), "429" (with
                    Retry-After: retry_after, default 0), "hang" (hold the request
                    `seconds`, default 30, or until /_reset, then close), "drop"
                    (close the connection without a reply), "error" (status and
                    body as given); phase "after" runs the handler first (the
                    resource exists) and then fails the reply.
                    Also: {"clear": true} removes every fault.  Faults may be given at
                    start in $FAKECLOUD_FAULTS (a JSON list) too.
    GET  /_faults   the faults and how often each fired
    GET  /_state    {"count": N, "resources": {kind: [obj…]}, "seeded": {kind: [id…]}}
                    count = live resources that a client created (seeded ones are not
                    counted): tests assert 0 after rm / a failed create
    POST /_seed     {"kind": K, "id": ID, "obj": {...}}: a resource that exists "before"
    POST /_reset    forget resources, faults, the log; release hung requests
    POST /_release  release hung requests (their connections are closed), keep the rest
    GET  /_log      [{"method","path","op","status","violations":[…],"fault"}…]
                    (?since=N: from entry N on)
    GET  /_violations  every spec violation seen (requests and replies)
    POST /_config   merge a JSON object into cloud.config (e.g. {"boot_polls": 0})
    GET  /_config

Instance addresses: cloud.hand_out_ip(pubkeys) takes the next address of
config["ips"] (from $FAKECLOUD_IPS, space/comma separated; default 127.1.0.1,
127.1.0.2, …, loopback only so nothing leaves the machine) and, when
$FAKECLOUD_AUTHORIZE is set, runs it as argv (shlex split) + [ip] with the
public keys on stdin, so a test bed can install them for root.
"""

import argparse
import copy
import fnmatch
import itertools
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FakeCloud", "Reply", "Request", "SchemaValidator", "main"]

MAX_BODY = 8 << 20


class Reply:
    def __init__(self, status=200, body=None, headers=None, content_type=None):
        self.status = int(status)
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type

    def encode(self):
        b = self.body
        ctype = self.content_type
        if b is None:
            data = b""
        elif isinstance(b, (dict, list)):
            data = json.dumps(b, separators=(",", ":")).encode()
            ctype = ctype or "application/json; charset=utf-8"
        elif isinstance(b, str):
            data = b.encode()
        else:
            data = bytes(b)
        return data, ctype or ("text/plain; charset=utf-8" if data else None)


class Request:
    def __init__(self, method, rawpath, headers, body):
        self.method = method
        u = urllib.parse.urlsplit(rawpath)
        self.path = urllib.parse.unquote(u.path)
        self.rawquery = u.query
        self.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.params = {}
        self.op = None
        self.template = None
        self.json = None
        self.json_error = None
        self.form = {}
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body and ctype == "application/x-www-form-urlencoded":
            self.form = {k: v[-1] for k, v in
                         urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                               keep_blank_values=True).items()}
        elif body:
            try:
                self.json = json.loads(body)
            except ValueError as e:
                self.json_error = str(e)

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default

    def field(self, name, default=None):
        """A form field, else a query parameter."""
        if name in self.form:
            return self.form[name]
        return self.q(name, default)

    def token(self):
        a = self.headers.get("Authorization") or ""
        return a[7:] if a.startswith("Bearer ") else None


# ---- the JSON Schema subset ----

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaValidator:
    """validate(schema, value, where, direction) -> list of messages ("" = ok).
    direction "request" refuses readOnly properties, "response" writeOnly ones."""

    def __init__(self, root=None):
        self.root = root or {}

    def resolve(self, s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s:
            ref = s["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("unsupported $ref %s" % ref)
            node = self.root
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            s = node
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at %s" % ref)
        return s

    def validate(self, schema, v, where="$", direction="request"):
        errs = []
        self._v(schema, v, where, direction, errs)
        return errs

    def _v(self, s, v, where, direction, errs):
        s = self.resolve(s)
        if not isinstance(s, dict) or not s:
            return
        if v is None and s.get("nullable"):
            return
        t = s.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(_TYPES.get(x, lambda _: True)(v) for x in types):
                errs.append("%s: expected %s, got %s" % (where, "/".join(types), _jtype(v)))
                return
        if "const" in s and v != s["const"]:
            errs.append("%s: must be %r" % (where, s["const"]))
        if "enum" in s and v not in s["enum"]:
            errs.append("%s: %r is not one of %s" % (where, v, s["enum"]))
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                errs.append("%s: shorter than %d" % (where, s["minLength"]))
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append("%s: longer than %d" % (where, s["maxLength"]))
            if "pattern" in s and not re.search(s["pattern"], v):
                errs.append("%s: %r does not match %s" % (where, v, s["pattern"]))
        if _TYPES["number"](v):
            if "minimum" in s and v < s["minimum"]:
                errs.append("%s: below %s" % (where, s["minimum"]))
            if "maximum" in s and v > s["maximum"]:
                errs.append("%s: above %s" % (where, s["maximum"]))
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                errs.append("%s: fewer than %d items" % (where, s["minItems"]))
            if "maxItems" in s and len(v) > s["maxItems"]:
                errs.append("%s: more than %d items" % (where, s["maxItems"]))
            if "items" in s:
                for i, x in enumerate(v):
                    self._v(s["items"], x, "%s[%d]" % (where, i), direction, errs)
        if isinstance(v, dict):
            props = s.get("properties") or {}
            for r in s.get("required") or []:
                p = self.resolve(props.get(r, {}))
                if r not in v and not (direction == "request" and p.get("readOnly")):
                    errs.append("%s: missing required %s" % (where, r))
            for k, x in v.items():
                if k in props:
                    p = self.resolve(props[k])
                    if direction == "request" and p.get("readOnly"):
                        errs.append("%s.%s: read-only" % (where, k))
                        continue
                    self._v(p, x, "%s.%s" % (where, k), direction, errs)
                else:
                    ap = s.get("additionalProperties", True)
                    if ap is False:
                        # only when the schema states its properties: a
                        # composite (allOf) part names the rest elsewhere
                        if props:
                            errs.append("%s: unknown property %s" % (where, k))
                    elif isinstance(ap, dict):
                        self._v(ap, x, "%s.%s" % (where, k), direction, errs)
        for sub in s.get("allOf") or []:
            self._v(sub, v, where, direction, errs)
        if "anyOf" in s:
            if not any(not self.validate(sub, v, where, direction) for sub in s["anyOf"]):
                errs.append("%s: matches none of anyOf (%s)" % (where, self._first(s["anyOf"], v, where, direction)))
        if "oneOf" in s:
            # at least one: overlapping alternatives are the spec's looseness
            if not any(not self.validate(sub, v, where, direction) for sub in s["oneOf"]):
                errs.append("%s: matches none of oneOf (%s)" % (where, self._first(s["oneOf"], v, where, direction)))
        if "not" in s and not self.validate(s["not"], v, where, direction):
            errs.append("%s: must not match %s" % (where, json.dumps(s["not"])[:80]))

    def _first(self, subs, v, where, direction):
        msgs = [self.validate(sub, v, where, direction) for sub in subs]
        msgs = [m[0] for m in msgs if m]
        return "; ".join(msgs[:3])


def _jtype(v):
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


def _coerce_param(value, schema):
    """Query/path parameters arrive as text: convert to the schema's type."""
    t = schema.get("type") if isinstance(schema, dict) else None
    try:
        if t == "integer":
            return int(value)
        if t == "number":
            return float(value)
        if t == "boolean":
            return {"true": True, "false": False}[value]
    except (ValueError, KeyError):
        return value
    return value


# ---- the fake ----

class _Route:
    def __init__(self, method, template, fn, op):
        self.method = method
        self.template = template
        self.fn = fn
        self.op = op
        names = []

        def repl(m):
            names.append(m.group(1))
            return "(?P<%s>[^/]+)" % m.group(1)
        self.regex = re.compile("^" + re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", repl,
                                             re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$")
        self.dispatch = None   # (field, {value: (fn, op)}) for route_action


class _Fault:
    _ids = itertools.count(1)

    def __init__(self, d):
        self.id = next(self._ids)
        self.match = str(d.get("match", "*"))
        self.after = int(d.get("after", 0))
        self.times = int(d.get("times", 1))
        self.kind = str(d.get("kind", "500"))
        self.phase = d.get("phase", "before")
        self.status = int(d.get("status", 500))
        self.body = d.get("body")
        self.retry_after = d.get("retry_after", 0)
        self.seconds = float(d.get("seconds", 30))
        self.seen = 0
        self.fired = 0

    def to_json(self):
        return {"id": self.id, "match": self.match, "after": self.after, "times": self.times,
                "kind": self.kind, "phase": self.phase, "seen": self.seen, "fired": self.fired}


class FakeCloud:
    provider = "fake"

    def __init__(self, spec=None, config=None):
        self.routes = []
        self.lock = threading.RLock()
        self.checked = threading.Condition(self.lock)
        self.pending = 0         # reply checks not done yet
        self.store = {}          # kind -> {id: obj}
        self.seeded = set()      # (kind, id)
        self.log = []
        self.violations = []
        self.faults = []
        self.release = threading.Event()
        self.config = {"ips": _default_ips()}
        self.config.update(config or {})
        self.ip_next = 0
        self.ids = itertools.count(1000001)
        self.spec = {"operations": {}}
        if spec:
            with open(spec) as f:
                self.spec = json.load(f)
        self.validator = SchemaValidator(self.spec)
        for d in json.loads(os.environ.get("FAKECLOUD_FAULTS") or "[]"):
            self.faults.append(_Fault(d))

    # -- provider hooks (override) --

    def error_reply(self, req, status, code, message):
        return Reply(status, {"code": code, "message": message})

    def authorize(self, req):
        return None

    def invalid_request(self, req, errors):
        return self.error_reply(req, 422, "unprocessable_entity", "; ".join(errors[:5]))

    def not_found(self, req, message="The resource you were accessing could not be found."):
        return self.error_reply(req, 404, "not_found", message)

    def on_reset(self):
        """Called under the lock after /_reset (reseed fixtures here)."""

    # -- routes --

    def route(self, method, template, op=None):
        def deco(fn):
            self.routes.append(_Route(method, template, fn, op))
            return fn
        return deco

    def route_action(self, method, template, field, value, op=None):
        """Dispatch METHOD TEMPLATE on a form/query field (EC2 Action=…)."""
        def deco(fn):
            r = next((r for r in self.routes if r.method == method and r.template == template
                      and r.dispatch), None)
            if r is None:
                r = _Route(method, template, None, None)
                r.dispatch = (field, {})
                self.routes.append(r)
            r.dispatch[1][value] = (fn, op or value)
            return fn
        return deco

    def set_op(self, req, op):
        req.op = op

    # -- store --

    def new_id(self):
        return next(self.ids)

    def add(self, kind, rid, obj, seeded=False):
        self.store.setdefault(kind, {})[str(rid)] = obj
        if seeded:
            self.seeded.add((kind, str(rid)))
        return obj

    def get(self, kind, rid):
        return self.store.get(kind, {}).get(str(rid))

    def delete(self, kind, rid):
        self.seeded.discard((kind, str(rid)))
        return self.store.get(kind, {}).pop(str(rid), None)

    def list(self, kind):
        return list(self.store.get(kind, {}).values())

    def live_count(self):
        return sum(1 for k, objs in self.store.items() for i in objs if (k, i) not in self.seeded)

    def hand_out_ip(self, pubkeys=()):
        ips = self.config.get("ips") or _default_ips()
        ip = ips[self.ip_next % len(ips)]
        self.ip_next += 1
        cmd = os.environ.get("FAKECLOUD_AUTHORIZE")
        if cmd and pubkeys:
            subprocess.run(shlex.split(cmd) + [ip], input="\n".join(pubkeys) + "\n",
                           text=True, timeout=60, check=False)
        return ip

    def paginate(self, req, items, default=20, maximum=200):
        """(page_items, links, total) following ?page=&per_page= (1-based)."""
        try:
            per = max(1, min(int(req.q("per_page", default)), maximum))
            page = max(1, int(req.q("page", 1)))
        except ValueError:
            per, page = default, 1
        start = (page - 1) * per
        return items[start:start + per], page, per

    # -- dispatch --

    def _find(self, req):
        allowed = False
        for r in self.routes:
            m = r.regex.match(req.path)
            if not m:
                continue
            if r.method != req.method:
                allowed = True
                continue
            req.params = m.groupdict()
            req.template = r.template
            if r.dispatch:
                field, table = r.dispatch
                ent = table.get(req.field(field) or "")
                if not ent:
                    return None, "unknown %s %r" % (field, req.field(field))
                req.op = ent[1]
                return ent[0], None
            req.op = r.op
            return r.fn, None
        return None, "method not allowed" if allowed else None

    def _spec_op(self, req):
        ops = self.spec.get("operations", {})
        if req.op and req.op in ops:
            return ops[req.op]
        for o in ops.values():
            if o.get("method") == req.method and o.get("path") == req.template:
                return o
        return None

    def check_request(self, req, op):
        errs = []
        for p in op.get("parameters", []):
            where = p.get("in")
            name = p["name"]
            if where == "query":
                vals = req.query.get(name)
                val = vals[-1] if vals else None
            elif where == "path":
                val = req.params.get(name)
            elif where == "header":
                val = req.headers.get(name)
            else:
                continue
            if val is None:
                if p.get("required"):
                    errs.append("%s parameter %s: missing" % (where, name))
                continue
            sch = self.validator.resolve(p.get("schema", {}))
            errs += self.validator.validate(sch, _coerce_param(val, sch), "%s:%s" % (where, name))
        rb = op.get("requestBody")
        if rb:
            if req.json_error:
                errs.append("body: invalid JSON: %s" % req.json_error)
            elif req.json is None:
                if rb.get("required"):
                    errs.append("body: missing")
            else:
                errs += self.validator.validate(rb.get("schema", {}), req.json, "body")
        elif req.json is not None and "form" not in op and req.method in ("GET", "DELETE"):
            errs.append("body: %s takes no body" % req.method)
        if "form" in op:
            errs += self.validator.validate(op["form"], req.form, "form")
        return errs

    def check_reply(self, req, op, reply):
        resp = (op.get("responses") or {}).get(str(reply.status))
        if not resp or "schema" not in resp:
            return []
        body = reply.body
        if isinstance(body, (bytes, str)):
            return []   # XML and text replies: the provider code checks those itself
        return self.validator.validate(resp["schema"], body, "reply %d" % reply.status, "response")

    def _match_fault(self, req, phase):
        forms = ["%s %s" % (req.method, req.path)]
        if req.template:
            forms.append("%s %s" % (req.method, req.template))
        if req.op:
            forms.append(req.op)
        for f in self.faults:
            if f.phase != phase or not any(fnmatch.fnmatchcase(x, f.match) for x in forms):
                continue
            f.seen += 1
            if f.seen <= f.after:
                continue
            if f.times and f.fired >= f.times:
                continue
            f.fired += 1
            return f
        return None

    def fault_reply(self, req, f):
        if f.kind in ("hang", "drop"):
            return f.kind
        if f.kind == "error":
            return Reply(f.status, f.body)
        if f.kind == "429":
            r = self.error_reply(req, 429, "too_many_requests", "API Rate limit exceeded.")
            r.headers["Retry-After"] = str(f.retry_after)
            return r
        try:
            st = int(f.kind)
        except ValueError:
            st = 500
        return self.error_reply(req, st, "server_error", "Server was unable to give you a response.")

    def handle(self, req):
        """Returns (Reply | "hang" | "drop", entry)."""
        entry = {"method": req.method, "path": req.path, "query": req.rawquery,
                 "op": None, "status": None, "violations": [], "fault": None,
                 "t": round(time.time(), 3)}
        with self.lock:
            self.log.append(entry)
            fn, why = self._find(req)
            entry["op"] = req.op
            f = self._match_fault(req, "before")
            if f:
                entry["fault"] = f.kind
                entry["hang_seconds"] = f.seconds
                return self.fault_reply(req, f), entry
            if fn is None:
                if why:
                    return self.error_reply(req, 405 if why == "method not allowed" else 400,
                                            "bad_request", why), entry
                return self.not_found(req), entry
            denied = self.authorize(req)
            if denied is not None:
                return denied, entry
            op = self._spec_op(req)
            if op is not None:
                errs = self.check_request(req, op)
                if errs:
                    entry["violations"] = errs
                    self.violations.append({"request": "%s %s" % (req.method, req.path),
                                            "op": req.op, "errors": errs})
                    return self.invalid_request(req, errs), entry
            r = fn(req)
            entry["op"] = req.op
            if isinstance(r, tuple):
                r = Reply(*r)
            elif isinstance(r, (dict, list)):
                r = Reply(200, r)
            elif r is None:
                r = Reply(204)
            op = op or self._spec_op(req)
            if op is not None:
                # checked after the reply is sent (a big listing takes the
                # validator longer than the client); /_violations waits
                self.pending += 1
                entry["_check"] = (op, r)
            f = self._match_fault(req, "after")
            if f:
                if "_check" in entry:
                    self.deferred_check(req, entry)   # the reply made, then lost: check it now
                entry["fault"] = f.kind
                entry["hang_seconds"] = f.seconds
                return self.fault_reply(req, f), entry
            return r, entry

    def deferred_check(self, req, entry):
        op, r = entry.pop("_check")
        try:
            if getattr(r, "sent", None) is not None and isinstance(r.body, (dict, list)):
                # what went on the wire (the store may have moved on since)
                r = Reply(r.status, json.loads(r.sent))
            errs = self.check_reply(req, op, r)
        except Exception as e:   # a validator bug must show, not hang the waiters
            errs = ["validator: %r" % e]
        with self.checked:
            if errs:
                entry["violations"] = entry["violations"] + errs
                self.violations.append({"reply": "%s %s" % (req.method, req.path),
                                        "op": req.op, "status": r.status, "errors": errs})
            self.pending -= 1
            self.checked.notify_all()

    def wait_checks(self, timeout=10):
        end = time.time() + timeout
        with self.checked:
            while self.pending > 0 and time.time() < end:
                self.checked.wait(end - time.time())

    # -- control --

    def control(self, req):
        p = req.path
        if p in ("/_violations", "/_log"):
            self.wait_checks()
        body = req.json
        if body is None and req.body:
            try:   # curl -d sends a form content type: control bodies are JSON anyway
                body = json.loads(req.body)
            except ValueError:
                return Reply(400, {"message": "control bodies are JSON"})
        if not isinstance(body, (dict, list)):
            body = {}
        with self.lock:
            if p == "/_fault" and req.method == "POST":
                if isinstance(body, dict) and body.get("clear"):
                    self.faults = []
                    return Reply(200, {"faults": []})
                items = body if isinstance(body, list) else [body]
                added = [_Fault(d) for d in items]
                self.faults += added
                return Reply(201, {"faults": [f.to_json() for f in added]})
            if p in ("/_fault", "/_faults") and req.method == "DELETE":
                self.faults = []
                return Reply(200, {"faults": []})
            if p in ("/_fault", "/_faults"):
                return Reply(200, {"faults": [f.to_json() for f in self.faults]})
            if p == "/_state":
                res = {k: [o for i, o in objs.items() if (k, i) not in self.seeded]
                       for k, objs in self.store.items()}
                res = {k: v for k, v in res.items() if v}
                seeded = {}
                for k, i in sorted(self.seeded):
                    seeded.setdefault(k, []).append(i)
                return Reply(200, {"count": self.live_count(), "resources": res, "seeded": seeded})
            if p == "/_seed" and req.method == "POST":
                self.add(body["kind"], body["id"], body.get("obj", {}), seeded=True)
                return Reply(201, {"ok": True})
            if p == "/_reset" and req.method == "POST":
                self.release.set()
                self.release = threading.Event()
                self.store = {}
                self.seeded = set()
                self.log = []
                self.wait_checks()
                self.violations = []
                self.faults = []
                self.ip_next = 0
                self.on_reset()
                return Reply(200, {"ok": True})
            if p == "/_release" and req.method == "POST":
                self.release.set()
                self.release = threading.Event()
                return Reply(200, {"ok": True})
            if p == "/_log":
                since = int(req.q("since", 0) or 0)
                return Reply(200, self.log[since:])
            if p == "/_violations":
                return Reply(200, self.violations)
            if p == "/_config":
                if req.method == "POST" and isinstance(body, dict):
                    self.config.update(body)
                return Reply(200, self.config)
        return Reply(404, {"message": "unknown control endpoint %s" % p})


def _default_ips():
    env = os.environ.get("FAKECLOUD_IPS")
    if env:
        return [x for x in re.split(r"[\s,]+", env) if x]
    return ["127.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(1000)]


def _handler_class(cloud):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fakecloud/%s" % cloud.provider

        def log_message(self, fmt, *args):
            if os.environ.get("FAKECLOUD_VERBOSE"):
                sys.stderr.write("fakecloud: %s\n" % (fmt % args))

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                raise ValueError("body too large")
            return self.rfile.read(n) if n else b""

        def _send(self, r):
            data, ctype = r.encode()
            r.sent = data
            self.send_response(r.status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in r.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _drop(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _any(self):
            try:
                body = self._body()
            except ValueError:
                self.close_connection = True
                return self._send(Reply(413, {"message": "request too large"}))
            req = Request(self.command, self.path, self.headers, body)
            if req.path.startswith("/_"):
                r = cloud.control(req)
                if isinstance(r.body, (dict, list)):   # readable for tests' greps
                    r = Reply(r.status, json.dumps(r.body), r.headers, "application/json")
                return self._send(r)
            r, entry = cloud.handle(req)
            try:
                self._reply(req, r, entry)
            finally:
                if "_check" in entry:
                    cloud.deferred_check(req, entry)

        def _reply(self, req, r, entry):
            if r == "drop":
                entry["status"] = 0
                return self._drop()
            if r == "hang":
                entry["status"] = 0
                release = cloud.release
                release.wait(entry.get("hang_seconds", 30))
                return self._drop()
            entry["status"] = r.status
            self._send(r)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    return H


def serve(cloud, port=0, port_file=None):
    srv = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(cloud))
    srv.daemon_threads = True
    real = srv.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % real)
        os.rename(tmp, port_file)
    print(real, flush=True)
    return srv


def main(cloud, argv=None):
    ap = argparse.ArgumentParser(description="fake %s API on 127.0.0.1" % cloud.provider)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--lifetime", type=float, default=600,
                    help="exit after this many seconds (a test that forgets to stop us)")
    a = ap.parse_args(argv)
    srv = serve(cloud, a.port, a.port_file)
    t = threading.Timer(a.lifetime, srv.shutdown)
    t.daemon = True
    t.start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


def request_id():
    return str(uuid.uuid4())


def deepcopy(x):
    return copy.deepcopy(x)
