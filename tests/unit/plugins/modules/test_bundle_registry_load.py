# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real main() of prodgrade.kubernetes.bundle_registry_load against a registry in this
process, with OCI archives built in tmp_path.

The registry is an HTTPS server on 127.0.0.1 (certificate from a throwaway CA) speaking the
part of the distribution API a load needs: HEAD, GET and PUT of manifests by tag, HEAD and GET
by digest (the digest it serves is the sha256 of the bytes pushed, as a real registry's) and
monolithic blob uploads. An image index (OCI or Docker manifest list) is accepted, as
distribution accepts it, only when its mediaType is the Content-Type and the repository has
every manifest it lists; this stand-in also checks each listed size and media type.

skopeo is a small stand-in (``fake-skopeo``, a Python script) that logs its arguments and does
what ``skopeo copy --dest-cert-dir DIR --preserve-digests oci-archive:PATH:TAG
docker://HOST/NAME:TAG`` does: it cuts PATH:TAG at the first colon as skopeo does, picks the
index.json descriptor named TAG, checks the blobs' digests, pushes the blobs and then the
manifest bytes unchanged, trusting only the ``*.crt`` of DIR.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import ssl
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from module_runner import run_module
from registry_tls_testlib import TLSServer, make_ca, make_leaf, refused_port

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import bundle
from ansible_collections.prodgrade.kubernetes.plugins.modules import bundle_registry_load

CA = make_ca("Bundle Registry CA")
OTHER_CA = make_ca("Somebody Else CA")
LEAF = make_leaf(CA)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
REF_NAME = "org.opencontainers.image.ref.name"


# --- the registry -----------------------------------------------------------------------------

_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/\?digest=(?P<digest>sha256:[0-9a-f]{64})$")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status, headers=None, body=b""):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_HEAD(self):
        registry = self.server.registry
        registry.requests.append((self.command, self.path, self.headers.get("Accept")))
        if registry.forced:
            return self._answer(registry.forced)
        match = _MANIFEST.match(self.path)
        data = match and registry.lookup(match["name"], match["ref"])
        if not data:
            return self._answer(404)
        return self._answer(
            200,
            {
                "Docker-Content-Digest": digest_of(data),
                "Content-Type": json.loads(data).get("mediaType", OCI_MANIFEST),
            },
            data,
        )

    do_GET = do_HEAD

    def do_POST(self):
        registry = self.server.registry
        registry.requests.append(("POST", self.path, None))
        match = _UPLOAD.match(self.path)
        data = self._body()
        if not match or digest_of(data) != match["digest"]:
            return self._answer(400, body=b'{"errors":[{"code":"DIGEST_INVALID"}]}')
        registry.blobs[match["digest"]] = data
        return self._answer(201, {"Docker-Content-Digest": match["digest"]})

    def do_PUT(self):
        registry = self.server.registry
        content_type = self.headers.get("Content-Type")
        registry.requests.append(("PUT", self.path, content_type))
        match = _MANIFEST.match(self.path)
        data = self._body()
        manifest = json.loads(data)
        if not match:
            return self._answer(404)
        if content_type in INDEX_TYPES:
            if registry.refuse_index:
                return self._answer(registry.refuse_index, body=b'{"errors":[{"code":"DENIED"}]}')
            if manifest.get("mediaType") != content_type:
                return self._answer(400, body=b'{"errors":[{"code":"MANIFEST_INVALID"}]}')
            for desc in manifest["manifests"]:
                child = registry.lookup(match["name"], desc["digest"])
                if child is None:
                    return self._answer(400, body=b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}')
                if (
                    len(child) != desc["size"]
                    or json.loads(child)["mediaType"] != desc["mediaType"]
                ):
                    return self._answer(400, body=b'{"errors":[{"code":"SIZE_INVALID"}]}')
        else:
            needed = [manifest["config"], *manifest["layers"]]
            if any(d["digest"] not in registry.blobs for d in needed):
                return self._answer(400, body=b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}')
        old = registry.manifests.get((match["name"], match["ref"]))
        if old is not None:  # a registry keeps a manifest whose tag moves on
            registry.stored[(match["name"], digest_of(old))] = old
        registry.manifests[(match["name"], match["ref"])] = data
        registry.stored[(match["name"], digest_of(data))] = data
        return self._answer(201, {"Docker-Content-Digest": digest_of(data)})

    def log_message(self, *args):
        pass


class Registry:
    """manifests: {(repository path, tag): manifest bytes}; stored: {(repository path, digest):
    manifest bytes} of every manifest pushed, tagged or not, as a registry keeps them;
    requests: (method, path, Accept, or Content-Type for a PUT)."""

    def __init__(self, leaf):
        self.manifests = {}
        self.stored = {}
        self.blobs = {}
        self.requests = []
        self.forced = None  # a status to answer every HEAD and GET with
        self.refuse_index = None  # a status to answer the PUT of an index with
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_text(leaf.pem)
            key.write_text(leaf.key_pem)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
        self.server = TLSServer(context, _Handler, registry=self)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def lookup(self, name, ref):
        """The manifest served for ``name`` and a tag or digest, or None."""
        if not ref.startswith("sha256:"):
            return self.manifests.get((name, ref))
        if (name, ref) in self.stored:
            return self.stored[(name, ref)]
        for (repo, _tag), data in self.manifests.items():
            if repo == name and digest_of(data) == ref:
                return data
        return None

    def writes(self):
        return [r for r in self.requests if r[0] not in ("HEAD", "GET")]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def registry():
    with Registry(LEAF) as server:
        yield server


# --- skopeo -----------------------------------------------------------------------------------

FAKE_SKOPEO = r"""
import glob, hashlib, json, os, ssl, sys, tarfile, urllib.request

with open(LOG, "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")


def fatal(msg):
    sys.stderr.write(f'time="2026-01-01T00:00:00Z" level=fatal msg="{msg}"\n')
    sys.exit(1)


args = sys.argv[1:]
if not args or args[0] != "copy":
    fatal("only copy is faked")
args.pop(0)
cert_dir, positional = None, []
while args:
    arg = args.pop(0)
    if arg == "--dest-cert-dir":
        cert_dir = args.pop(0)
    elif arg == "--preserve-digests":
        pass
    elif arg.startswith("-"):
        fatal(f"unknown flag {arg}")
    else:
        positional.append(arg)
src, dest = positional
if not src.startswith("oci-archive:") or not dest.startswith("docker://"):
    fatal(f"not faked: {src} {dest}")
# containers/image cuts at the first colon (splitPathAndImageNonWindows).
path, _, ref = src[len("oci-archive:"):].partition(":")
try:
    with tarfile.open(path) as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
except (OSError, tarfile.TarError) as exc:
    fatal(f"initializing source {src}: {exc}")
index = json.loads(blobs.get("index.json", b"{}"))
chosen = [d for d in index.get("manifests", [])
          if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
if len(chosen) != 1:
    fatal(f'initializing source {src}: no descriptor found for reference "{ref}"')


def blob(digest):
    data = blobs.get("blobs/sha256/" + digest.split(":", 1)[1])
    if data is None or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        fatal(f"reading blob {digest}: missing or digest did not match")
    return data


manifest = blob(chosen[0]["digest"])
host, _, rest = dest[len("docker://"):].partition("/")
name, _, tag = rest.rpartition(":")
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
for crt in sorted(glob.glob(os.path.join(cert_dir or "/nonexistent", "*.crt"))):
    context.load_verify_locations(crt)


def send(method, url, data, headers):
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        urllib.request.urlopen(request, context=context, timeout=10).close()
    except Exception as exc:
        fatal(f"writing to {dest}: {exc}")


for desc in [json.loads(manifest)["config"], *json.loads(manifest)["layers"]]:
    send("POST", f"https://{host}/v2/{name}/blobs/uploads/?digest={desc['digest']}",
         blob(desc["digest"]), {"Content-Type": "application/octet-stream"})
send("PUT", f"https://{host}/v2/{name}/manifests/{tag}", manifest,
     {"Content-Type": chosen[0]["mediaType"]})
"""


@pytest.fixture
def skopeo(tmp_path):
    """The fake skopeo's path; ``skopeo.calls()`` gives its calls ({argv, cwd})."""
    log = tmp_path / "skopeo.log"
    log.touch()
    script = tmp_path / "fake-skopeo"
    script.write_text(f"#!{sys.executable}\nLOG = {str(log)!r}\n{FAKE_SKOPEO}")
    script.chmod(0o755)

    class Skopeo(str):
        def calls(self):
            return [json.loads(line) for line in log.read_text().splitlines()]

    return Skopeo(script)


# --- the bundle -------------------------------------------------------------------------------


def digest_of(data):
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


MEDIA = {
    # manifest, config, layer
    "oci": (OCI_MANIFEST, "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar"),
    "docker": (DOCKER_MANIFEST, "application/vnd.docker.container.image.v1+json",
               "application/vnd.docker.image.rootfs.diff.tar.gzip"),
}  # fmt: skip


def oci_archive(dest, tag, payload, arch="amd64", media="oci", variant=None, nested=False):
    """An OCI archive of one image tagged ``tag``, as bundle_fetch stores it: (the digest its
    index.json names, the manifest bytes). ``nested``: the tag names an index of the image."""
    with tempfile.TemporaryDirectory() as tmp:
        return _oci_archive(Path(tmp), dest, tag, payload, arch, media, variant, nested)


def _oci_archive(layout, dest, tag, payload, arch, media, variant, nested):
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    manifest_type, config_type, layer_type = MEDIA[media]

    def put(data, media_type):
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
        return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}

    layer = put(payload, layer_type)
    image_config = {"architecture": arch, "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}  # fmt: skip
    if variant:
        image_config["variant"] = variant
    config = put(json.dumps(image_config).encode(), config_type)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": manifest_type, "config": config, "layers": [layer]}
    ).encode()
    descriptor = put(manifest, manifest_type)
    if nested:
        descriptor["platform"] = {"architecture": arch, "os": "linux"}
        manifest = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}
        ).encode()
        descriptor = put(manifest, OCI_INDEX)
    descriptor["annotations"] = {REF_NAME: tag}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    bundle.tar_layout(str(layout), str(dest))
    return descriptor["digest"], manifest


class Bundle:
    def __init__(self, root):
        self.root = root
        self.artifacts = [
            # Not images: never looked at.
            {"kind": "deb", "name": "runc", "version": "1.1.5", "path": "debs/x/runc.deb"},
            {"kind": "binary", "name": "kubeadm", "version": "v1.33.1", "path": "files/k"},
        ]
        self.manifests = {}  # (image, arch) -> manifest bytes

    def image(self, name, tag, payload=None, digest=None, arch="amd64", **archive):
        """An image entry and its archive; ``digest`` overrides the one recorded."""
        registry, path, _tag = bundle.split_image(f"{name}:{tag}")
        rel = bundle.image_archive_path(registry, path, tag, arch)
        full = self.root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        payload = payload or f"{name}:{tag} for {arch}".encode()
        real, manifest = oci_archive(full, tag, payload, arch=arch, **archive)
        self.manifests[(f"{name}:{tag}", arch)] = manifest
        entry = {"kind": "image", "name": name, "version": tag, "arch": arch, "path": rel}
        entry.update(sha256=bundle.sha256_file(full), digest=digest or real, source="test")
        self.artifacts.append(entry)
        self.write()
        return entry

    def manifest(self, image, arch="amd64"):
        return self.manifests[(image, arch)]

    def write(self):
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "manifest.json").write_text(
            json.dumps({"format": 1, "artifacts": self.artifacts})
        )


@pytest.fixture
def pki(tmp_path):
    """(ca_file, cert_dir) as the bundle server lays them out."""
    cert_dir = tmp_path / "ca"
    cert_dir.mkdir()
    (cert_dir / "ca.crt").write_text(CA.pem)
    return cert_dir / "ca.crt", cert_dir


@pytest.fixture
def two_images(tmp_path):
    content = Bundle(tmp_path / "bundle")
    content.image("registry.k8s.io/pause", "3.10")
    content.image("docker.io/library/busybox", "1.36.1")
    return content


def args(content, registry, pki, skopeo, **extra):
    ca_file, cert_dir = pki
    result = {
        "bundle": str(content.root),
        "registry": registry.address,
        "ca_file": str(ca_file),
        "cert_dir": str(cert_dir),
        "skopeo": str(skopeo),
        "timeout": 5,
    }
    result.update(extra)
    return result


def run(module_args, check_mode=False):
    return run_module(bundle_registry_load.main, module_args, check_mode=check_mode)


def entry_digest(content, image):
    name, tag = image.rsplit(":", 1)
    (entry,) = [a for a in content.artifacts if a["name"] == name and a.get("version") == tag]
    return entry["digest"]


# --- loading ----------------------------------------------------------------------------------


def test_missing_images_are_loaded_then_a_second_run_changes_nothing(
    two_images, registry, pki, skopeo
):
    reg = registry.address
    targets = [f"{reg}/pause:3.10", f"{reg}/library/busybox:1.36.1"]
    result = run(args(two_images, registry, pki, skopeo))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["images"] == targets
    assert result["missing"] == targets
    archives = [two_images.root / a["path"] for a in two_images.artifacts[2:]]
    assert skopeo.calls() == [
        {
            "argv": ["copy", "--dest-cert-dir", str(pki[1]), "--preserve-digests",
                     f"oci-archive:{archive.name}:{tag}", f"docker://{target}"],
            "cwd": str(archive.parent),
        }
        for archive, tag, target in zip(archives, ("3.10", "1.36.1"), targets)
    ]  # fmt: skip
    # The registry serves the manifests the archives hold, under the path without the host.
    assert registry.manifests == {
        ("pause", "3.10"): two_images.manifest("registry.k8s.io/pause:3.10"),
        ("library/busybox", "1.36.1"): two_images.manifest("docker.io/library/busybox:1.36.1"),
    }
    heads = [r for r in registry.requests if r[0] == "HEAD"]
    # Each image is looked up before loading and checked again after.
    assert [path for _m, path, _a in heads] == [
        "/v2/pause/manifests/3.10",
        "/v2/pause/manifests/3.10",
        "/v2/library/busybox/manifests/1.36.1",
        "/v2/library/busybox/manifests/1.36.1",
    ]
    for _m, _p, accept in heads:
        assert OCI_MANIFEST in accept
        assert "application/vnd.oci.image.index.v1+json" in accept
        assert "application/vnd.docker.distribution.manifest.list.v2+json" in accept

    registry.requests.clear()
    again = run(args(two_images, registry, pki, skopeo))
    assert again["changed"] is False
    assert again["missing"] == []
    assert again["images"] == targets
    assert len(skopeo.calls()) == 2
    assert registry.writes() == []


def test_present_images_are_skipped_and_a_stale_tag_is_loaded(two_images, registry, pki, skopeo):
    registry.manifests[("pause", "3.10")] = two_images.manifest("registry.k8s.io/pause:3.10")
    old = Bundle(two_images.root.parent / "old")
    old.image("docker.io/library/busybox", "1.36.1", payload=b"an older build")
    stale = old.manifest("docker.io/library/busybox:1.36.1")
    registry.manifests[("library/busybox", "1.36.1")] = stale
    target = f"{registry.address}/library/busybox:1.36.1"

    result = run(args(two_images, registry, pki, skopeo))
    assert result["changed"] is True
    assert result["missing"] == [target]
    assert [c["argv"][-1] for c in skopeo.calls()] == [f"docker://{target}"]
    assert digest_of(registry.manifests[("library/busybox", "1.36.1")]) == entry_digest(
        two_images, "docker.io/library/busybox:1.36.1"
    )


def test_a_registry_port_in_the_image_name(tmp_path, registry, pki, skopeo):
    """The archive's path holds a colon (images/registry.example:5000/...): skopeo must still
    find it."""
    content = Bundle(tmp_path / "bundle")
    entry = content.image("registry.example:5000/team/app", "v1")
    assert entry["path"] == "images/registry.example:5000/team/app/v1/amd64.oci.tar"
    result = run(args(content, registry, pki, skopeo))
    assert not result.get("failed"), result.get("msg")
    assert result["missing"] == [f"{registry.address}/team/app:v1"]
    assert digest_of(registry.manifests[("team/app", "v1")]) == entry["digest"]


# --- reporting only ---------------------------------------------------------------------------


def test_check_mode_reports_what_would_be_loaded_and_loads_nothing(
    two_images, registry, pki, skopeo
):
    registry.manifests[("pause", "3.10")] = two_images.manifest("registry.k8s.io/pause:3.10")
    result = run(args(two_images, registry, pki, skopeo), check_mode=True)
    assert result["changed"] is True
    assert result["missing"] == [f"{registry.address}/library/busybox:1.36.1"]
    assert skopeo.calls() == []
    assert registry.writes() == []
    assert list(registry.manifests) == [("pause", "3.10")]


def test_check_only_reports_without_a_change(two_images, registry, pki, skopeo):
    result = run(args(two_images, registry, pki, skopeo, check_only=True))
    assert result["changed"] is False
    assert result["missing"] == result["images"]
    assert len(result["missing"]) == 2
    assert skopeo.calls() == []
    assert registry.writes() == []


def test_an_image_without_a_recorded_digest_is_not_taken_as_present(
    tmp_path, registry, pki, skopeo
):
    """An absent tag (404) is no digest; neither is an entry without one: not a match."""
    content = Bundle(tmp_path / "bundle")
    content.image("registry.k8s.io/pause", "3.10")
    del content.artifacts[-1]["digest"]
    content.write()
    target = f"{registry.address}/pause:3.10"
    assert run(args(content, registry, pki, skopeo, check_only=True))["missing"] == [target]
    result = run(args(content, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"].startswith(f"{target}: the registry serves sha256:")
    assert result["msg"].endswith("the manifest says None")


# --- failures ---------------------------------------------------------------------------------


def test_a_digest_other_than_the_manifests_is_named(two_images, registry, pki, skopeo):
    wrong = digest_of(b"not this image")
    two_images.artifacts[2]["digest"] = wrong
    two_images.write()
    real = digest_of(two_images.manifest("registry.k8s.io/pause:3.10"))
    result = run(args(two_images, registry, pki, skopeo))
    target = f"{registry.address}/pause:3.10"
    assert result["failed"] is True
    assert result["msg"] == (
        f"{target}: the registry serves {real} after loading, the manifest says {wrong}"
    )
    assert result["missing"] == [target]
    assert len(skopeo.calls()) == 1  # busybox is not loaded after the failure


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda path: path.write_bytes(b"this is not a tar archive"), "initializing source"),
        (lambda path: path.write_bytes(path.read_bytes()[:1024]), "initializing source"),
        (
            lambda path: oci_archive(path, "3.9", b"pause"),
            'no descriptor found for reference "3.10"',
        ),
    ],
    ids=["garbage", "truncated", "other-tag"],
)
def test_a_bad_archive_is_named_and_stops_the_load(two_images, registry, pki, skopeo, damage, says):
    damage(two_images.root / two_images.artifacts[2]["path"])
    result = run(args(two_images, registry, pki, skopeo))
    target = f"{registry.address}/pause:3.10"
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"loading images/registry.k8s.io/pause/3.10/amd64.oci.tar into {target} failed: "
    )
    assert says in result["msg"]
    assert result["missing"] == [target]
    assert len(skopeo.calls()) == 1
    assert registry.manifests == {}


def test_an_archive_missing_from_the_bundle_is_named(two_images, registry, pki, skopeo):
    (two_images.root / two_images.artifacts[3]["path"]).unlink()
    result = run(args(two_images, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"] == (
        "images/docker.io/library/busybox/1.36.1/amd64.oci.tar is not in the bundle: cannot load "
        f"{registry.address}/library/busybox:1.36.1"
    )
    assert [c["argv"][-1] for c in skopeo.calls()] == [f"docker://{registry.address}/pause:3.10"]


def test_a_registry_the_ca_did_not_issue_is_refused(two_images, registry, pki, skopeo, tmp_path):
    other = tmp_path / "other-ca.crt"
    other.write_text(OTHER_CA.pem)
    result = run(args(two_images, registry, (other, pki[1]), skopeo))
    assert result["failed"] is True
    assert result["msg"].startswith(f"registry {registry.address} cannot be reached over TLS:")
    assert "CERTIFICATE_VERIFY_FAILED" in result["msg"]
    assert skopeo.calls() == []
    assert registry.requests == []


def test_skopeo_trusts_only_the_cert_dir(two_images, registry, pki, skopeo, tmp_path):
    """The module passes cert_dir on: without the CA there, the push is refused."""
    empty = tmp_path / "no-ca"
    empty.mkdir()
    result = run(args(two_images, registry, (pki[0], empty), skopeo))
    assert result["failed"] is True
    assert "CERTIFICATE_VERIFY_FAILED" in result["msg"]
    assert result["msg"].startswith("loading images/registry.k8s.io/pause/3.10/amd64.oci.tar into ")


@pytest.mark.parametrize("status", [401, 500])
def test_a_registry_error_is_named(two_images, registry, pki, skopeo, status):
    registry.forced = status
    result = run(args(two_images, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"] == f"registry {registry.address} answered {status} for pause:3.10"
    assert skopeo.calls() == []


def test_an_unreachable_registry(two_images, pki, skopeo):
    reg = f"127.0.0.1:{refused_port()}"
    result = run(
        {
            "bundle": str(two_images.root),
            "registry": reg,
            "ca_file": str(pki[0]),
            "cert_dir": str(pki[1]),
            "skopeo": str(skopeo),
            "timeout": 2,
        }
    )
    assert result["failed"] is True
    assert result["msg"].startswith(f"registry {reg} cannot be reached over TLS:")
    assert skopeo.calls() == []


def test_a_bundle_without_a_manifest(tmp_path, registry, pki, skopeo):
    content = Bundle(tmp_path / "bundle")
    content.root.mkdir()
    assert not (content.root / "manifest.json").exists()
    result = run(args(content, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"] == f"{content.root} has no manifest.json"


def test_an_image_name_without_its_registry_is_refused(tmp_path, registry, pki, skopeo):
    content = Bundle(tmp_path / "bundle")
    content.artifacts.append(
        {"kind": "image", "name": "pause", "version": "3.10", "path": "images/x", "digest": "d"}
    )
    content.write()
    result = run(args(content, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"].startswith("image 'pause:3.10': name the registry")
    assert registry.requests == []


# --- several architectures: an image index under the tag ----------------------------------


@pytest.fixture
def multiarch(tmp_path):
    """pause for amd64 and arm64 (its config naming variant v8, as arm64 images do), busybox
    for amd64 only."""
    content = Bundle(tmp_path / "bundle")
    content.image("registry.k8s.io/pause", "3.10", arch="amd64")
    content.image("registry.k8s.io/pause", "3.10", arch="arm64", variant="v8")
    content.image("docker.io/library/busybox", "1.36.1")
    return content


def entry_of(content, image, arch):
    name, tag = image.rsplit(":", 1)
    (entry,) = [
        a for a in content.artifacts
        if a["name"] == name and a.get("version") == tag and a.get("arch") == arch
    ]  # fmt: skip
    return entry


def pull(registry, path, tag, arch):
    """What a containerd of ``arch`` gets: the tag's manifest, through the index when it is one
    (the descriptor whose platform is linux/<arch>), fetched by digest as containerd does."""
    data = registry.lookup(path, tag)
    document = json.loads(data)
    if document.get("mediaType") not in INDEX_TYPES:
        return data
    (desc,) = [
        d for d in document["manifests"]
        if d["platform"]["os"] == "linux" and d["platform"]["architecture"] == arch
    ]  # fmt: skip
    child = registry.lookup(path, desc["digest"])
    assert digest_of(child) == desc["digest"] and len(child) == desc["size"]
    return child


def test_an_image_of_two_architectures_is_served_as_an_index(multiarch, registry, pki, skopeo):
    reg = registry.address
    pause, busybox = f"{reg}/pause:3.10", f"{reg}/library/busybox:1.36.1"
    result = run(args(multiarch, registry, pki, skopeo))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["images"] == [pause, busybox]
    assert result["indexes"] == [pause]
    assert result["missing"] == [pause, busybox]

    # Each architecture's archive goes to its helper tag; busybox (one architecture) directly.
    amd64, arm64, bb = (multiarch.root / a["path"] for a in multiarch.artifacts[2:])
    assert amd64.name == "amd64.oci.tar" and arm64.name == "arm64.oci.tar"
    assert amd64.parent == arm64.parent == multiarch.root / "images/registry.k8s.io/pause/3.10"
    assert [(c["argv"][-2:], c["cwd"]) for c in skopeo.calls()] == [
        (["oci-archive:amd64.oci.tar:3.10", f"docker://{reg}/pause:3.10-linux-amd64"],
         str(amd64.parent)),
        (["oci-archive:arm64.oci.tar:3.10", f"docker://{reg}/pause:3.10-linux-arm64"],
         str(arm64.parent)),
        (["oci-archive:amd64.oci.tar:1.36.1", f"docker://{busybox}"], str(bb.parent)),
    ]  # fmt: skip
    assert sorted(registry.manifests) == [
        ("library/busybox", "1.36.1"),
        ("pause", "3.10"),
        ("pause", "3.10-linux-amd64"),
        ("pause", "3.10-linux-arm64"),
    ]

    # The tag serves an OCI image index listing both manifests with their platforms.
    index_puts = [
        r for r in registry.writes() if r == ("PUT", "/v2/pause/manifests/3.10", OCI_INDEX)
    ]
    assert len(index_puts) == 1
    amd64_manifest = multiarch.manifest("registry.k8s.io/pause:3.10", "amd64")
    arm64_manifest = multiarch.manifest("registry.k8s.io/pause:3.10", "arm64")
    assert json.loads(registry.manifests[("pause", "3.10")]) == {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": digest_of(amd64_manifest),
             "size": len(amd64_manifest), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": digest_of(arm64_manifest),
             "size": len(arm64_manifest),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ],
    }  # fmt: skip
    # The digests are the ones manifest.json records: a node of each architecture gets its own.
    for arch, manifest in (("amd64", amd64_manifest), ("arm64", arm64_manifest)):
        assert entry_of(multiarch, "registry.k8s.io/pause:3.10", arch)["digest"] == digest_of(
            manifest
        )
        assert pull(registry, "pause", "3.10", arch) == manifest
    assert registry.manifests[("library/busybox", "1.36.1")] == multiarch.manifest(
        "docker.io/library/busybox:1.36.1"
    )

    registry.requests.clear()
    again = run(args(multiarch, registry, pki, skopeo))
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["missing"] == []
    assert again["images"] == [pause, busybox]
    assert len(skopeo.calls()) == 3
    assert registry.writes() == []
    # The index read, each listed manifest checked by digest, busybox's tag looked up.
    assert [(m, p) for m, p, _a in registry.requests] == [
        ("GET", "/v2/pause/manifests/3.10"),
        ("HEAD", f"/v2/pause/manifests/{digest_of(amd64_manifest)}"),
        ("HEAD", f"/v2/pause/manifests/{digest_of(arm64_manifest)}"),
        ("HEAD", "/v2/library/busybox/manifests/1.36.1"),
    ]


def index_of(content, image, arches, sizes=None, **changes):
    """An index as a registry might serve it for ``image``; ``changes`` replace digests,
    ``sizes`` sizes (by architecture)."""
    manifests = []
    for arch in arches:
        data = content.manifest(image, arch)
        manifests.append(
            {"mediaType": OCI_MANIFEST, "digest": changes.get(arch, digest_of(data)),
             "size": (sizes or {}).get(arch, len(data)),
             "platform": {"architecture": arch, "os": "linux"}}
        )  # fmt: skip
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


@pytest.mark.parametrize(
    ("serve", "missing"),
    [
        ("nothing", True),
        ("the amd64 image alone", True),  # what a single-architecture bundle loaded
        ("an index of amd64 only", True),
        ("an index of another arm64 image", True),
        ("an index whose arm64 image the registry lacks", True),
        ("an index giving a wrong size", True),
        ("the index, both images present", False),
    ],
)
def test_check_only_with_two_architectures(multiarch, registry, pki, skopeo, serve, missing):
    image = "registry.k8s.io/pause:3.10"
    amd64, arm64 = multiarch.manifest(image, "amd64"), multiarch.manifest(image, "arm64")
    if serve != "nothing":
        registry.stored[("pause", digest_of(amd64))] = amd64
    if serve not in ("nothing", "an index whose arm64 image the registry lacks"):
        registry.stored[("pause", digest_of(arm64))] = arm64
    registry.manifests[("library/busybox", "1.36.1")] = multiarch.manifest(
        "docker.io/library/busybox:1.36.1"
    )
    served = {
        "nothing": None,
        "the amd64 image alone": amd64,
        "an index of amd64 only": index_of(multiarch, image, ["amd64"]),
        "an index of another arm64 image": index_of(
            multiarch, image, ["amd64", "arm64"], arm64=digest_of(b"another build")
        ),
        "an index whose arm64 image the registry lacks": index_of(
            multiarch, image, ["amd64", "arm64"]
        ),
        "an index giving a wrong size": index_of(
            multiarch, image, ["amd64", "arm64"], sizes={"arm64": 7}
        ),
        "the index, both images present": index_of(multiarch, image, ["arm64", "amd64"]),
    }[serve]
    if served is not None:
        registry.manifests[("pause", "3.10")] = served
    result = run(args(multiarch, registry, pki, skopeo, check_only=True))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["missing"] == ([f"{registry.address}/pause:3.10"] if missing else [])
    assert skopeo.calls() == []
    assert registry.writes() == []


def test_check_mode_with_two_architectures_loads_nothing(multiarch, registry, pki, skopeo):
    result = run(args(multiarch, registry, pki, skopeo), check_mode=True)
    assert result["changed"] is True
    assert result["missing"] == [f"{registry.address}/pause:3.10",
                                 f"{registry.address}/library/busybox:1.36.1"]  # fmt: skip
    assert skopeo.calls() == []
    assert registry.writes() == []


def test_a_single_architecture_tag_becomes_an_index(multiarch, registry, pki, skopeo):
    """The registry serves the amd64 image under the tag (an amd64-only bundle loaded it): only
    the arm64 image is pushed, then the index replaces the tag."""
    image = "registry.k8s.io/pause:3.10"
    registry.manifests[("pause", "3.10")] = multiarch.manifest(image, "amd64")
    registry.manifests[("library/busybox", "1.36.1")] = multiarch.manifest(
        "docker.io/library/busybox:1.36.1"
    )
    result = run(args(multiarch, registry, pki, skopeo))
    assert not result.get("failed"), result.get("msg")
    assert result["missing"] == [f"{registry.address}/pause:3.10"]
    assert [c["argv"][-1] for c in skopeo.calls()] == [
        f"docker://{registry.address}/pause:3.10-linux-arm64"
    ]
    for arch in ("amd64", "arm64"):
        assert pull(registry, "pause", "3.10", arch) == multiarch.manifest(image, arch)
    again = run(args(multiarch, registry, pki, skopeo))
    assert again["changed"] is False and len(skopeo.calls()) == 1


@pytest.mark.parametrize(
    ("media", "index_type"),
    [(("docker", "docker"), DOCKER_LIST), (("oci", "docker"), OCI_INDEX)],
    ids=["docker-manifests-make-a-manifest-list", "mixed-make-an-oci-index"],
)
def test_the_index_type_follows_the_manifests(tmp_path, registry, pki, skopeo, media, index_type):
    content = Bundle(tmp_path / "bundle")
    for arch, kind in zip(("amd64", "arm64"), media):
        content.image("registry.k8s.io/pause", "3.10", arch=arch, media=kind)
    result = run(args(content, registry, pki, skopeo))
    assert not result.get("failed"), result.get("msg")
    index = json.loads(registry.manifests[("pause", "3.10")])
    assert index["mediaType"] == index_type
    assert [d["mediaType"] for d in index["manifests"]] == [MEDIA[kind][0] for kind in media]
    assert ("PUT", "/v2/pause/manifests/3.10", index_type) in registry.writes()
    for arch in ("amd64", "arm64"):
        manifest = content.manifest("registry.k8s.io/pause:3.10", arch)
        assert pull(registry, "pause", "3.10", arch) == manifest
    assert run(args(content, registry, pki, skopeo))["changed"] is False


def test_the_registry_refusing_the_index_is_named(multiarch, registry, pki, skopeo):
    registry.refuse_index = 403
    result = run(args(multiarch, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"] == (
        f"registry {registry.address} refused the image index for pause:3.10 (403): "
        '{"errors":[{"code":"DENIED"}]}'
    )
    assert ("pause", "3.10") not in registry.manifests
    assert len(skopeo.calls()) == 2  # the images went in; busybox was not reached


def test_a_registry_error_on_the_index_is_named(multiarch, registry, pki, skopeo):
    registry.forced = 500
    result = run(args(multiarch, registry, pki, skopeo))
    assert result["failed"] is True
    assert result["msg"] == f"registry {registry.address} answered 500 for pause:3.10"
    assert skopeo.calls() == []


def add_entry(content, **entry):
    content.artifacts.append(dict({"kind": "image", "source": "test", "sha256": "0" * 64}, **entry))
    content.write()


def refuse_arm64_nested(content):
    (content.root / content.artifacts[3]["path"]).unlink()
    entry = content.image("registry.k8s.io/pause", "3.10", arch="arm64", nested=True)
    content.artifacts[3] = content.artifacts.pop()
    content.write()
    return (
        f"{entry['path']} holds an image index, not the arm64 image: cannot list it in the "
        "index of "
    )


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (
            lambda c: add_entry(c, name="registry.k8s.io/pause", version="3.10", arch="amd64",
                                path="images/registry.k8s.io/pause/3.10/other.oci.tar",
                                digest=digest_of(b"other")),
            "image registry.k8s.io/pause:3.10 is listed twice for amd64: "
            "images/registry.k8s.io/pause/3.10/amd64.oci.tar and "
            "images/registry.k8s.io/pause/3.10/other.oci.tar",
        ),
        (
            lambda c: c.image("registry.k8s.io/pause", "3.10-linux-arm64"),
            "images registry.k8s.io/pause:3.10 and registry.k8s.io/pause:3.10-linux-arm64 would "
            "both be served as {reg}/pause:3.10-linux-arm64",
        ),
        (
            lambda c: c.image("quay.io/library/busybox", "1.36.1"),
            "images docker.io/library/busybox:1.36.1 and quay.io/library/busybox:1.36.1 would "
            "both be served as {reg}/library/busybox:1.36.1",
        ),
        (
            lambda c: add_entry(c, name="registry.k8s.io/pause", version="3.10",
                                path="images/x.oci.tar", digest=digest_of(b"x")),
            "image registry.k8s.io/pause:3.10: an entry without arch among several "
            "architectures (amd64, arm64, None)",
        ),
        (
            lambda c: (c.root / c.artifacts[3]["path"]).unlink(),
            "images/registry.k8s.io/pause/3.10/arm64.oci.tar is not in the bundle: cannot load "
            "{reg}/pause:3.10",
        ),
        (
            lambda c: (c.artifacts[3].pop("digest"), c.write()),
            "{reg}/pause:3.10: the manifest records no digest for arm64",
        ),
        (
            lambda c: (c.artifacts[3].update(digest=digest_of(b"not in it")), c.write()),
            "images/registry.k8s.io/pause/3.10/arm64.oci.tar: no blobs/sha256/"
            f"{hashlib.sha256(b'not in it').hexdigest()} in the archive",
        ),
        (refuse_arm64_nested, None),
    ],
    ids=["arch-twice", "helper-tag-taken", "same-path-two-registries", "no-arch", "no-archive",
         "no-digest", "digest-not-in-archive", "archive-holds-an-index"],
)  # fmt: skip
def test_a_bad_multiarch_image_is_refused_before_any_change(
    multiarch, registry, pki, skopeo, damage, says
):
    said = damage(multiarch)
    result = run(args(multiarch, registry, pki, skopeo))
    assert result["failed"] is True
    if says is None:
        assert result["msg"] == said + f"{registry.address}/pause:3.10"
    else:
        assert result["msg"].endswith(says.format(reg=registry.address)), result["msg"]
    assert skopeo.calls() == []
    assert registry.writes() == []
