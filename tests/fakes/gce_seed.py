#!/usr/bin/env python3
"""gce_seed.py - google machines for tests and benchmarks, without dm-create:
instances made through the fake GCE API (instances.insert, as the driver does)
and store entries (machines/NAME/config.json) as dm-create leaves them.

    gce_seed.py --api http://127.0.0.1:PORT --store DIR [--prefix m] [--count N]
                [--project dm-test] [--zone us-central1-a] [--token T]

The token must be accepted by the fake (config "static_tokens"); it is not
written to the store, so the machines use the caller's credentials later.
"""
import argparse
import json
import os
import urllib.request


def config_json(name, store, drv):
    m = os.path.join(store, "machines", name)
    return {
        "ConfigVersion": 3, "Driver": drv, "DriverName": "google",
        "HostOptions": {
            "Driver": "", "Memory": 0, "Disk": 0,
            "EngineOptions": {"ArbitraryFlags": [], "Dns": None, "GraphDir": "", "Env": [], "Ipv6": False,
                              "InsecureRegistry": [], "Labels": [], "LogLevel": "", "StorageDriver": "",
                              "SelinuxEnabled": False, "TlsVerify": True, "RegistryMirror": [],
                              "InstallURL": "https://get.docker.com"},
            "SwarmOptions": {"IsSwarm": False, "Address": "", "Discovery": "", "Agent": False, "Master": False,
                             "Host": "tcp://0.0.0.0:3376", "Image": "swarm:latest", "Strategy": "spread",
                             "Heartbeat": 0, "Overcommit": 0, "ArbitraryFlags": [], "ArbitraryJoinFlags": [],
                             "Env": None, "IsExperimental": False},
            "AuthOptions": {"CertDir": store + "/certs", "CaCertPath": store + "/certs/ca.pem",
                            "CaPrivateKeyPath": store + "/certs/ca-key.pem", "CaCertRemotePath": "",
                            "ServerCertPath": m + "/server.pem", "ServerKeyPath": m + "/server-key.pem",
                            "ClientKeyPath": store + "/certs/key.pem", "ServerCertRemotePath": "",
                            "ServerKeyRemotePath": "", "ClientCertPath": store + "/certs/cert.pem",
                            "ServerCertSANs": [], "StorePath": m}},
        "Name": name,
    }


def call(api, token, method, path, body=None):
    req = urllib.request.Request(api + "/compute/v1/" + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--prefix", default="m")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--project", default="dm-test")
    ap.add_argument("--zone", default="us-central1-a")
    ap.add_argument("--token", default="ya29.seed")
    a = ap.parse_args()
    p, z = a.project, a.zone
    for i in range(1, a.count + 1):
        name = "%s%d" % (a.prefix, i)
        op = call(a.api, a.token, "POST", "projects/%s/zones/%s/instances" % (p, z), {
            "name": name, "machineType": "zones/%s/machineTypes/n1-standard-1" % z,
            "labels": {"dm-machine": name},
            "disks": [{"boot": True, "autoDelete": True, "initializeParams": {
                "diskName": name + "-disk", "sourceImage":
                "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64", "labels": {"dm-machine": name}}}],
            "networkInterfaces": [{"network": "projects/%s/global/networks/default" % p,
                                   "accessConfigs": [{"name": "external-nat", "type": "ONE_TO_ONE_NAT"}]}],
            "tags": {"items": ["docker-machine"]}})
        for _ in range(50):   # the operation, polled until DONE: the instance is RUNNING
            if op["status"] == "DONE":
                break
            op = call(a.api, a.token, "GET", "projects/%s/zones/%s/operations/%s" % (p, z, op["name"]))
        inst = call(a.api, a.token, "GET", "projects/%s/zones/%s/instances/%s" % (p, z, name))
        ip = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
        store = os.path.abspath(a.store)
        d = os.path.join(store, "machines", name)
        os.makedirs(d, mode=0o700, exist_ok=True)
        drv = {"IPAddress": ip, "MachineName": name, "SSHUser": "docker-user", "SSHPort": 22,
               "SSHKeyPath": d + "/id_rsa", "StorePath": store, "SwarmMaster": False, "SwarmHost": "",
               "SwarmDiscovery": "", "Zone": z, "MachineType": "n1-standard-1",
               "MachineImage": "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64",
               "DiskType": "pd-standard", "Address": "", "Network": "default", "Subnetwork": "",
               "Preemptible": False, "UseInternalIP": False, "UseInternalIPOnly": False, "Scopes": "",
               "DiskSize": 10, "Project": p, "Tags": "", "UseExisting": False, "OpenPorts": [],
               "ServiceAccount": "default", "AuthToken": "", "InstanceName": name}
        path = os.path.join(d, "config.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config_json(name, store, drv), f, indent=4)


if __name__ == "__main__":
    main()
