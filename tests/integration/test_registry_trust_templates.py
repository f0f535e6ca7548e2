"""The registry_trust role run for real by ansible-playbook on this machine, every engine.

Registries are HTTPS servers in the test process on 127.0.0.1 with certificates made by
`cryptography`, so the role's TLS probe runs for real too. Every path the role writes is
redirected into tmp_path, and the files are parsed back: hosts.toml and the CRI-O drop-ins
with tomllib, config.json with json, the auth entries base64-decoded. The files are owned by
root as on a node, so these tests need root (they run as root here and in CI).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys

import pytest
import tomllib
from registry_tls_testlib import Registry, make_ca, make_leaf

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes root-owned files like a node")

CA = make_ca("Lab Registry CA")
MIRROR_CA = make_ca("Lab Mirror CA")
CLIENT = make_leaf(CA, cn="node-1", sans=None, client=True)
PASSWORD = "pw-5f0c9a-never-shown"
CRIO_AUTH = "etc/crio/crio.conf.d/20-prodgrade-registry-auth.conf"
PLAY = """---
- name: Registry trust on this machine
  hosts: localhost
  gather_facts: false
  connection: local
  roles:
    - role: prodgrade.kubernetes.registry_trust
"""


@pytest.fixture(scope="module")
def servers():
    """A registry wanting Basic auth, a mirror with its own CA, and a CN-only registry."""
    basic = (401, {"WWW-Authenticate": 'Basic realm="Registry Realm"'})
    started = {
        "registry": Registry(make_leaf(CA), answer=basic),
        "mirror": Registry(make_leaf(MIRROR_CA)),
        "cn_only": Registry(make_leaf(CA, cn="localhost", sans=None)),
    }
    for server in started.values():
        server.__enter__()
    yield started
    for server in started.values():
        server.__exit__(None, None, None)


class Node:
    """A node's file system under tmp_path, and the role run against it."""

    def __init__(self, ansible, tmp_path):
        self.ansible = ansible
        self.tmp = tmp_path
        self.root = tmp_path / "node"
        self.paths = {
            "registry_trust_containerd_config_dir": "etc/containerd/certs.d",
            "registry_trust_containers_certs_dir": "etc/containers/certs.d",
            "registry_trust_containers_registries_dropin": (
                "etc/containers/registries.conf.d/50-prodgrade-registry-trust.conf"
            ),
            "registry_trust_crio_auth_dropin": (
                "etc/crio/crio.conf.d/20-prodgrade-registry-auth.conf"
            ),
            "registry_trust_docker_certs_dir": "etc/docker/certs.d",
            "registry_trust_cri_dockerd_config_json": ".docker/config.json",
            "registry_trust_kubelet_config_json": "var/lib/kubelet/config.json",
        }
        (tmp_path / "play.yml").write_text(PLAY)

    def path(self, relative):
        return self.root / relative

    def run(self, engine, registries, *flags):
        extra = {
            "ansible_python_interpreter": sys.executable,
            "registry_trust_engine": engine,
            "registry_trust_registries": registries,
            **{name: str(self.root / rel) for name, rel in self.paths.items()},
        }
        (self.tmp / "vars.json").write_text(json.dumps(extra))
        return self.ansible(
            "ansible-playbook", "-i", "localhost,", str(self.tmp / "play.yml"),
            "-e", f"@{self.tmp / 'vars.json'}", *flags,
        )  # fmt: skip

    def files(self):
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


@pytest.fixture
def node(ansible, tmp_path):
    return Node(ansible, tmp_path)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def recap_changed(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return int(line.split("changed=")[1].split()[0])


def full_registry(servers):
    """Credentials, a client certificate and a mirror with its own CA: every file kind."""
    return {
        "host": servers["registry"].address(),
        "ca": CA.pem,
        "username": "puller",
        "password": PASSWORD,
        "client_cert": CLIENT.pem,
        "client_key": CLIENT.key_pem,
        "mirrors": [{"host": servers["mirror"].address("localhost"), "ca": MIRROR_CA.pem}],
    }


def decode_auth(entry):
    return base64.b64decode(entry["auth"]).decode()


def test_containerd(node, servers):
    registry = full_registry(servers)
    plain = {"host": servers["mirror"].address(), "ca": MIRROR_CA.pem}
    res = node.run("containerd", [registry, plain], "--diff", "-v")
    assert res.returncode == 0, res.stdout + res.stderr
    host = registry["host"]
    mirror = registry["mirrors"][0]["host"]
    base = node.path("etc/containerd/certs.d") / host
    hosts_toml = base / "hosts.toml"
    cfg = tomllib.loads(hosts_toml.read_text())
    assert cfg["server"] == f"https://{host}"
    assert cfg["capabilities"] == ["pull", "resolve"]
    assert cfg["ca"] == str(base / "ca.crt")
    assert cfg["client"] == [[str(base / "client.cert"), str(base / "client.key")]]
    assert "skip_verify" not in cfg
    assert decode_auth({"auth": cfg["header"]["Authorization"].removeprefix("Basic ")}) == (
        f"puller:{PASSWORD}"
    )
    mirror_cfg = cfg["host"][f"https://{mirror}"]
    assert mirror_cfg["capabilities"] == ["pull", "resolve"]
    assert (base / mirror_cfg["ca"].rsplit("/", 1)[1]).read_text() == MIRROR_CA.pem
    assert "skip_verify" not in mirror_cfg
    assert (base / "ca.crt").read_text() == CA.pem
    assert (base / "client.cert").read_text() == CLIENT.pem
    assert (base / "client.key").read_text() == CLIENT.key_pem
    # Keys and files holding credentials are root's alone.
    assert mode(base / "client.key") == 0o600
    assert mode(hosts_toml) == 0o600
    assert mode(base / "ca.crt") == 0o644
    # A registry without credentials gets a readable hosts.toml and no header.
    other = node.path("etc/containerd/certs.d") / plain["host"] / "hosts.toml"
    assert "header" not in tomllib.loads(other.read_text())
    assert mode(other) == 0o644
    kubelet = node.path("var/lib/kubelet/config.json")
    auths = json.loads(kubelet.read_text())["auths"]
    assert list(auths) == [host]
    assert decode_auth(auths[host]) == f"puller:{PASSWORD}"
    assert mode(kubelet) == 0o600
    # Nothing for the other engines, and no secret in the output, even with -v --diff.
    assert not node.path("etc/containers").exists()
    assert not node.path(".docker").exists()
    for secret in (PASSWORD, base64.b64encode(f"puller:{PASSWORD}".encode()).decode(),
                   CLIENT.key_pem.splitlines()[1]):  # fmt: skip
        assert secret not in res.stdout + res.stderr
    # The probe ran from "the node", against the registry and its mirror.
    assert servers["registry"].paths and servers["mirror"].paths

    again = node.run("containerd", [registry, plain])
    assert again.returncode == 0, again.stdout
    assert recap_changed(again.stdout) == 0


def test_check_mode_writes_nothing(node, servers):
    res = node.run("containerd", [full_registry(servers)], "--check", "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    assert recap_changed(res.stdout) > 0
    assert node.files() == []


@pytest.mark.parametrize("skip_verify", [False, True])
def test_skip_verify_renders_only_when_asked(node, servers, skip_verify):
    registry = {"host": servers["cn_only"].address("localhost"), "skip_verify": skip_verify}
    if not skip_verify:
        registry["ca"] = CA.pem
        registry["mirrors"] = [{"host": servers["mirror"].address(), "skip_verify": True}]
    good = {"host": servers["registry"].address(), "ca": CA.pem}
    res = node.run("containerd", [good, registry])
    if not skip_verify:
        # The CN-only certificate stops the run before any file is written.
        assert res.returncode != 0
        assert "no subjectAltName" in res.stdout
        assert "Nothing was changed on any node" in res.stdout
        assert node.files() == []
        return
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING: skip_verify is set for " + registry["host"] in " ".join(res.stdout.split())
    base = node.path("etc/containerd/certs.d")
    assert (
        tomllib.loads((base / registry["host"] / "hosts.toml").read_text())["skip_verify"] is True
    )
    assert "skip_verify" not in tomllib.loads((base / good["host"] / "hosts.toml").read_text())
    # No credentials anywhere: config.json is not touched.
    assert not node.path("var/lib/kubelet/config.json").exists()


def test_crio(node, servers):
    registry = full_registry(servers)
    unverified = {"host": servers["cn_only"].address("localhost"), "skip_verify": True}
    res = node.run("crio", [registry, unverified], "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    host, mirror = registry["host"], registry["mirrors"][0]["host"]
    certs = node.path("etc/containers/certs.d")
    assert (certs / host / "ca.crt").read_text() == CA.pem
    assert (certs / host / "client.cert").read_text() == CLIENT.pem
    assert mode(certs / host / "client.key") == 0o600
    # containers/image looks up the host it connects to, so the mirror has its own directory.
    assert (certs / mirror / "ca.crt").read_text() == MIRROR_CA.pem
    assert not (certs / unverified["host"]).exists()
    dropin = tomllib.loads(
        node.path("etc/containers/registries.conf.d/50-prodgrade-registry-trust.conf").read_text()
    )
    first, second = dropin["registry"]
    assert first == {"location": host, "mirror": [{"location": mirror}]}
    assert second == {"location": unverified["host"], "insecure": True}
    auth = tomllib.loads(node.path(CRIO_AUTH).read_text())
    kubelet = str(node.path("var/lib/kubelet/config.json"))
    assert auth == {
        "crio": {"image": {"global_auth_file": kubelet, "pause_image_auth_file": kubelet}}
    }
    auths = json.loads(node.path("var/lib/kubelet/config.json").read_text())["auths"]
    assert decode_auth(auths[host]) == f"puller:{PASSWORD}"
    assert not node.path("etc/containerd").exists()

    # Without credentials the CRI-O drop-in goes away again.
    registry.pop("username")
    registry.pop("password")
    res = node.run("crio", [registry])
    assert res.returncode == 0, res.stdout + res.stderr
    assert not node.path(CRIO_AUTH).exists()


def test_docker(node, servers):
    registry = full_registry(servers)
    registry.pop("mirrors")
    res = node.run("cri_dockerd", [registry])
    assert res.returncode == 0, res.stdout + res.stderr
    certs = node.path("etc/docker/certs.d") / registry["host"]
    assert (certs / "ca.crt").read_text() == CA.pem
    assert (certs / "client.cert").read_text() == CLIENT.pem
    assert mode(certs / "client.key") == 0o600
    for path in ("var/lib/kubelet/config.json", ".docker/config.json"):
        written = node.path(path)
        assert mode(written) == 0o600
        auths = json.loads(written.read_text())["auths"]
        assert decode_auth(auths[registry["host"]]) == f"puller:{PASSWORD}"
    assert mode(node.path(".docker")) == 0o700


def test_input_problems_are_all_named_before_anything_happens(node, servers, tmp_path):
    registries = [
        {"host": "https://registry.example.test/k8s", "ca": CA.pem},
        {"host": servers["registry"].address(), "ca": CA.pem, "username": "only-a-user"},
        {"host": servers["registry"].address(), "ca": CA.pem},
        {"host": "registry.example.test:5000"},
        {"host": "registry.example.test:99999", "ca": "not a certificate"},
        {"host": "files.example.test", "ca_file": str(tmp_path / "missing.crt")},
        {"host": "client.example.test", "ca": CA.pem, "client_cert": CLIENT.pem},
    ]
    before = len(servers["registry"].paths)
    res = node.run("containerd", registries)
    assert res.returncode != 0
    out = " ".join(res.stdout.split())
    for expected in (
        "registry_trust_registries has 8 problem(s)",
        "https://registry.example.test/k8s: host must be host, host:port or [IPv6]:port",
        "credentials are half given",
        f"{servers['registry'].address()} is listed more than once",
        "registry.example.test:5000: no CA",
        "registry.example.test:99999: the port must be between 1 and 65535",
        "registry.example.test:99999: ca is not a PEM certificate",
        "ca_file " + str(tmp_path / "missing.crt") + " is missing on the controller",
        "client.example.test: a client certificate needs its key",
    ):
        assert expected in out, expected
    assert node.files() == []
    assert len(servers["registry"].paths) == before  # no probe either


def test_docker_refuses_mirrors_and_skip_verify(node, servers):
    registries = [
        {"host": servers["registry"].address(), "ca": CA.pem,
         "mirrors": [{"host": servers["mirror"].address()}]},
        {"host": servers["cn_only"].address(), "skip_verify": True},
    ]  # fmt: skip
    res = node.run("cri_dockerd", registries)
    assert res.returncode != 0
    out = " ".join(res.stdout.split())
    assert "Docker Engine mirrors only Docker Hub" in out
    assert "skip_verify is not possible with Docker Engine" in out
    assert node.files() == []


def test_an_upstream_reached_only_through_its_mirror_is_a_warning(node, servers):
    # The air-gapped case: the upstream answers nowhere, its mirror does.
    unreachable = {**full_registry(servers), "host": "127.0.0.1:9"}
    res = node.run("containerd", [unreachable])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "127.0.0.1:9" in res.stdout and "mirror" in res.stdout
    assert "etc/containerd/certs.d/127.0.0.1:9/hosts.toml" in node.files()


def test_an_unreachable_registry_without_mirrors_fails_before_any_file(node, servers):
    lone = {"host": "127.0.0.1:9", "ca": CA.pem}
    res = node.run("containerd", [lone])
    assert res.returncode != 0
    assert "unreachable" in res.stdout.lower() or "could not connect" in res.stdout.lower()
    assert node.files() == []
