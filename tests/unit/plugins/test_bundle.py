# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The air-gapped bundle: checksum parsing, bundle_fetch against a real local HTTP server
(match, mismatch, re-run downloading only what is missing), bundle_index writing a signed
repository with a real gpg key, bundle_verify naming a tampered file, and the pki module's
extra server certificates."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import bundle, pki
from ansible_collections.prodgrade.kubernetes.plugins.modules import (
    bundle_fetch,
    bundle_index,
    bundle_verify,
)

sys.path.insert(0, str(Path(__file__).parent / "modules"))
from module_runner import run_module


@pytest.fixture(autouse=True)
def _as_on_a_host(monkeypatch):
    """Modules hand warnings to their result, as on a host (see modules/conftest.py)."""
    from ansible.module_utils import _internal
    from ansible.module_utils.common import warnings as ansible_warnings

    monkeypatch.setattr(_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()
    yield
    ansible_warnings._global_warnings.clear()


SHA = "0123456789abcdef" * 4


# --- checksum files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{SHA}\n", SHA),  # dl.k8s.io: a bare hash
        (f"{SHA}  tool\n", SHA),  # sha256sum
        (f"{'f' * 64}  other\n{SHA} *tool\n", SHA),  # binary mode, several files
        (f"{SHA}  dist/tool\n", SHA),  # a path
        (f"SHA256 (tool) = {SHA.upper()}\n", SHA),  # BSD style
        (f"{SHA}  other\n", None),
        ("not a checksum\n", None),
    ],
)
def test_parse_checksum(text, expected):
    assert bundle.parse_checksum(text, "tool") == expected


def test_image_paths():
    assert bundle.split_image("registry.k8s.io/coredns/coredns:v1.12.1") == (
        "registry.k8s.io",
        "coredns/coredns",
        "v1.12.1",
    )
    # One archive per architecture: the images of one tag differ between architectures.
    assert (
        bundle.image_archive_path("registry.k8s.io", "pause", "3.10", "amd64")
        == "images/registry.k8s.io/pause/3.10/amd64.oci.tar"
    )
    assert (
        bundle.image_archive_path("registry.example:5000", "team/app", "v1", "arm64")
        == "images/registry.example:5000/team/app/v1/arm64.oci.tar"
    )
    for bad in ("pause:3.10", "registry.k8s.io/pause", "registry.k8s.io/../x:1"):
        with pytest.raises(bundle.BundleError):
            bundle.split_image(bad)
    for bad in (("pause", "3.10", "arm/v7"), ("pause", "..", "amd64"), ("../x", "1", "amd64")):
        with pytest.raises(bundle.BundleError):
            bundle.image_archive_path("registry.k8s.io", *bad)


# --- bundle_fetch against a real HTTP server --------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.root = root
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def publish(site, name, data, listed=None):
    (site.root / name).write_bytes(data)
    digest = hashlib.sha256(listed if listed is not None else data).hexdigest()
    (site.root / f"{name}.sha256").write_text(f"{digest}  {name}\n")


def tool_args(site, dest, **extra):
    art = {
        "kind": "binary",
        "name": "tool",
        "version": "1.0",
        "url": f"{site.url}/tool-{{arch}}",
        "checksum_url": f"{site.url}/tool-{{arch}}.sha256",
    }
    return {"dest": str(dest), "artifacts": [dict(art, **extra)], "architectures": ["amd64"]}


def test_fetch_match_then_rerun_downloads_nothing(site, tmp_path):
    publish(site, "tool-amd64", b"#!/bin/sh\necho tool\n")
    dest = tmp_path / "bundle"
    result = run_module(bundle_fetch.main, tool_args(site, dest))
    assert result["changed"], result
    entry = result["artifacts"][0]
    assert entry["path"] == "files/tool/1.0/amd64/tool-amd64"
    assert (dest / entry["path"]).read_bytes() == b"#!/bin/sh\necho tool\n"
    assert entry["sha256"] == hashlib.sha256(b"#!/bin/sh\necho tool\n").hexdigest()
    assert site.requests == ["/tool-amd64.sha256", "/tool-amd64"]

    # Recorded in a manifest: a re-run makes no request at all.
    (dest / "manifest.json").write_text(json.dumps({"format": 1, "artifacts": result["artifacts"]}))
    site.requests.clear()
    again = run_module(bundle_fetch.main, tool_args(site, dest))
    assert not again["changed"] and again["fetched"] == [] and site.requests == []

    # Not in a manifest (an aborted build): only the small checksum file is fetched.
    (dest / "manifest.json").unlink()
    again = run_module(bundle_fetch.main, tool_args(site, dest))
    assert not again["changed"] and site.requests == ["/tool-amd64.sha256"]


def test_fetch_only_missing(site, tmp_path):
    publish(site, "tool-amd64", b"amd")
    publish(site, "tool-arm64", b"arm")
    dest = tmp_path / "bundle"
    args = tool_args(site, dest)
    args["architectures"] = ["amd64", "arm64"]
    first = run_module(bundle_fetch.main, args)
    (dest / "manifest.json").write_text(json.dumps({"format": 1, "artifacts": first["artifacts"]}))
    (dest / "files/tool/1.0/arm64/tool-arm64").unlink()
    site.requests.clear()
    second = run_module(bundle_fetch.main, args)
    assert second["fetched"] == ["files/tool/1.0/arm64/tool-arm64"]
    assert site.requests == ["/tool-arm64.sha256", "/tool-arm64"]


def test_fetch_mismatch_aborts_naming_the_artifact(site, tmp_path):
    publish(site, "tool-amd64", b"what was served", listed=b"what upstream built")
    dest = tmp_path / "bundle"
    result = run_module(bundle_fetch.main, tool_args(site, dest))
    assert result["failed"]
    assert "binary tool 1.0 amd64: checksum mismatch" in result["msg"]
    assert not (dest / "files/tool/1.0/amd64/tool-amd64").exists()
    assert [p.name for p in (dest / "files/tool/1.0/amd64").iterdir()] == []


def test_fetch_check_mode_downloads_nothing(site, tmp_path):
    publish(site, "tool-amd64", b"x")
    dest = tmp_path / "bundle"
    result = run_module(bundle_fetch.main, tool_args(site, dest), check_mode=True)
    assert result["changed"] and result["fetched"] == ["files/tool/1.0/amd64/tool-amd64"]
    assert "/tool-amd64" not in site.requests
    assert not (dest / "files").exists()


def test_fetch_refuses_unverifiable(site, tmp_path):
    publish(site, "tool-amd64", b"x")
    args = tool_args(site, tmp_path / "b")
    del args["artifacts"][0]["checksum_url"]
    assert "nothing is fetched unverified" in run_module(bundle_fetch.main, args)["msg"]


def test_fetch_pin_overrides(site, tmp_path):
    publish(site, "tool-amd64", b"x")
    args = tool_args(site, tmp_path / "b")
    args["pins"] = {"tool/amd64": "f" * 64}
    assert "differs from the upstream checksum" in run_module(bundle_fetch.main, args)["msg"]


def make_layout(path):
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    manifest = b'{"schemaVersion":2}'
    digest = hashlib.sha256(manifest).hexdigest()
    (blobs / digest).write_bytes(manifest)
    index = {"schemaVersion": 2, "manifests": [{"digest": f"sha256:{digest}", "size": 19}]}
    (path / "index.json").write_text(json.dumps(index))
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return f"sha256:{digest}"


def test_local_image_packed_deterministically(tmp_path):
    digest = make_layout(tmp_path / "layout")
    args = {
        "dest": str(tmp_path / "bundle"),
        "artifacts": [
            {
                "kind": "local_image",
                "name": "registry.k8s.io/pause",
                "version": "3.10",
                "src": str(tmp_path / "layout"),
                "arch": "amd64",
            }
        ],
    }
    result = run_module(bundle_fetch.main, args)
    entry = result["artifacts"][0]
    assert entry["path"] == "images/registry.k8s.io/pause/3.10/amd64.oci.tar"
    assert entry["digest"] == digest and entry["source"].startswith("local:")
    first = (tmp_path / "bundle" / entry["path"]).read_bytes()
    (tmp_path / "bundle/manifest.json").write_text(
        json.dumps({"format": 1, "artifacts": result["artifacts"]})
    )
    assert not run_module(bundle_fetch.main, args)["changed"]
    (tmp_path / "bundle" / entry["path"]).unlink()
    assert run_module(bundle_fetch.main, args)["changed"]
    assert (tmp_path / "bundle" / entry["path"]).read_bytes() == first


# --- images of several architectures ---------------------------------------------------------

# What ``skopeo copy --override-os linux --override-arch ARCH SOURCE oci-archive:PATH:TAG`` does,
# for the test: an OCI archive of an image made for ARCH (its config names it), tagged TAG.
FETCH_SKOPEO = r"""
import hashlib, io, json, sys, tarfile

with open(LOG, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
args = sys.argv[1:]
assert args[:3] == ["copy", "--override-os", "linux"] and args[3] == "--override-arch", args
arch, source, dest = args[4], args[5], args[6]
path, _, tag = dest[len("oci-archive:"):].rpartition(":")
files = {}


def put(data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    files["blobs/sha256/" + digest] = data
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}


layer = put(f"{source} built for {arch}".encode(), "application/vnd.oci.image.layer.v1.tar")
config = put(json.dumps({"architecture": arch, "os": "linux"}).encode(),
             "application/vnd.oci.image.config.v1+json")
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": config,
                           "layers": [layer]}).encode(), MANIFEST)
manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [manifest]}).encode()
files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
with tarfile.open(path, "w") as tar:
    for name, data in sorted(files.items()):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
"""

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def fetch_skopeo(tmp_path):
    log = tmp_path / "skopeo.log"
    log.touch()
    script = tmp_path / "fake-skopeo"
    script.write_text(
        f"#!{sys.executable}\nLOG = {str(log)!r}\nMANIFEST = {OCI_MANIFEST!r}\n{FETCH_SKOPEO}"
    )
    script.chmod(0o755)

    class Skopeo(str):
        def calls(self):
            return [json.loads(line) for line in log.read_text().splitlines()]

    return Skopeo(script)


def image_config_arch(archive, digest):
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}"))
        config = manifest["config"]["digest"].split(":")[1]
        return json.load(tar.extractfile(f"blobs/sha256/{config}"))["architecture"]


def test_fetch_keeps_each_architectures_image(tmp_path, fetch_skopeo):
    """Two architectures of one tag: two archives, both in the manifest, and the bundle checks."""
    dest = tmp_path / "bundle"
    args = {
        "dest": str(dest),
        "artifacts": [{"kind": "image", "name": "registry.k8s.io/pause", "version": "3.10"}],
        "architectures": ["amd64", "arm64"],
        "skopeo": str(fetch_skopeo),
    }
    result = run_module(bundle_fetch.main, args)
    assert not result.get("failed"), result.get("msg")
    paths = [
        "images/registry.k8s.io/pause/3.10/amd64.oci.tar",
        "images/registry.k8s.io/pause/3.10/arm64.oci.tar",
    ]
    assert result["fetched"] == paths
    assert [(a["arch"], a["path"]) for a in result["artifacts"]] == list(
        zip(("amd64", "arm64"), paths)
    )
    assert [c[4] for c in fetch_skopeo.calls()] == ["amd64", "arm64"]
    assert {c[5] for c in fetch_skopeo.calls()} == {"docker://registry.k8s.io/pause:3.10"}
    amd64, arm64 = result["artifacts"]
    assert amd64["digest"] != arm64["digest"] and amd64["sha256"] != arm64["sha256"]
    for entry in result["artifacts"]:
        archive = dest / entry["path"]
        assert entry["sha256"] == bundle.sha256_file(archive)
        assert entry["digest"] == bundle.oci_archive_digest(str(archive))
        assert image_config_arch(archive, entry["digest"]) == entry["arch"]
        desc = bundle.oci_archive_manifest(str(archive), entry["digest"])
        assert desc["mediaType"] == OCI_MANIFEST and desc["variant"] is None

    # bundle_index takes both (one path each) and the whole bundle passes its checks.
    index = run_module(
        bundle_index.main,
        {"dest": str(dest), "artifacts": result["artifacts"], "kubernetes_version": "1.37.1",
         "architectures": ["amd64", "arm64"]},
    )  # fmt: skip
    assert not index.get("failed"), index.get("msg")
    verified = run_module(bundle_verify.main, {"path": str(dest)})
    assert not verified.get("failed"), verified.get("msg")
    assert verified["checked"] == 2 and verified["unlisted"] == []

    # Recorded: a re-run copies nothing; a lost archive is copied again, alone.
    again = run_module(bundle_fetch.main, args)
    assert not again["changed"] and again["fetched"] == [] and len(fetch_skopeo.calls()) == 2
    assert again["artifacts"] == result["artifacts"]
    (dest / paths[1]).unlink()
    third = run_module(bundle_fetch.main, args)
    assert third["fetched"] == [paths[1]]
    assert [c[4] for c in fetch_skopeo.calls()] == ["amd64", "arm64", "arm64"]


def test_oci_archive_manifest_checks_the_blob(tmp_path, fetch_skopeo):
    dest = tmp_path / "bundle"
    result = run_module(
        bundle_fetch.main,
        {"dest": str(dest), "skopeo": str(fetch_skopeo), "architectures": ["arm64"],
         "artifacts": [{"kind": "image", "name": "registry.k8s.io/pause", "version": "3.10"}]},
    )  # fmt: skip
    entry = result["artifacts"][0]
    archive = str(dest / entry["path"])
    with tarfile.open(archive) as tar:
        manifest = tar.extractfile(f"blobs/sha256/{entry['digest'].split(':')[1]}").read()
    assert bundle.oci_archive_manifest(archive, entry["digest"]) == {
        "mediaType": OCI_MANIFEST, "digest": entry["digest"], "size": len(manifest),
        "variant": None,
    }  # fmt: skip
    with pytest.raises(bundle.BundleError, match=r"no blobs/sha256/0{64} in the archive"):
        bundle.oci_archive_manifest(archive, "sha256:" + "0" * 64)
    with pytest.raises(bundle.BundleError, match="is not a sha256 digest"):
        bundle.oci_archive_manifest(archive, "md5:abc")
    # A layout whose manifest names no media type, nor does its index.json.
    make_layout(tmp_path / "layout")
    bundle.tar_layout(str(tmp_path / "layout"), str(tmp_path / "bare.tar"))
    digest = bundle.oci_archive_digest(str(tmp_path / "bare.tar"))
    with pytest.raises(bundle.BundleError, match="nothing gives the media type"):
        bundle.oci_archive_manifest(str(tmp_path / "bare.tar"), digest)
    # A blob that is not what its name says.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == f"blobs/sha256/{entry['digest'].split(':')[1]}":
                data += b" "  # still JSON, no longer the bytes of the digest
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    with pytest.raises(bundle.BundleError, match="does not match its digest"):
        bundle.oci_archive_manifest(str(tampered), entry["digest"])


# --- bundle_index and bundle_verify with a real key -------------------------------------------

needs_gpg = pytest.mark.skipif(
    not (shutil.which("gpg") and shutil.which("gpgv") and shutil.which("dpkg-deb")),
    reason="gpg, gpgv and dpkg-deb are needed",
)


def make_deb(tmp_path, name, version):
    root = tmp_path / f"pkg-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: Test <t@example.invalid>\nDescription: test package\n multi-line.\n"
    )
    (root / "usr/share").mkdir(parents=True)
    (root / "usr/share" / name).write_text(name)
    out = tmp_path / f"{name}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def gpg_home(tmp_path_factory):
    if not shutil.which("gpg"):
        pytest.skip("gpg is needed")
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--quick-generate-key",
         "bundle test key", "ed25519", "sign", "1y"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return home


def deb_entry(dest, suite, deb):
    rel = f"debs/{suite}/{deb.name}"
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(deb, target)
    name, version, _ = deb.name[:-4].split("_")
    return {
        "kind": "deb",
        "name": name,
        "version": version,
        "arch": "all",
        "suite": suite,
        "path": rel,
        "sha256": bundle.sha256_file(target),
        "source": "test",
        "requested": True,
    }


@needs_gpg
def test_index_signs_verifies_and_is_idempotent(tmp_path, gpg_home):
    dest = tmp_path / "bundle"
    entries = [deb_entry(dest, "trixie", make_deb(tmp_path, "hello", "1.0-1"))]
    args = {
        "dest": str(dest),
        "artifacts": entries,
        "kubernetes_version": "1.37.1",
        "suites": ["trixie"],
        "gpg_home": str(gpg_home),
    }
    first = run_module(bundle_index.main, args)
    assert first["changed"], first
    repo = dest / "debs/trixie"
    for name in bundle.REPO_INDEX_FILES:
        assert (repo / name).is_file(), name
    packages = (repo / "Packages").read_text()
    assert "Package: hello\nVersion: 1.0-1\n" in packages
    assert "Filename: ./hello_1.0-1_all.deb" in packages
    assert " multi-line." in packages
    ring = dest / bundle.KEYRING
    subprocess.run(["gpgv", "--keyring", str(ring), str(repo / "InRelease")], check=True)
    subprocess.run(
        ["gpgv", "--keyring", str(ring), str(repo / "Release.gpg"), str(repo / "Release")],
        check=True,
    )
    assert not (dest / "keys").joinpath("secring.gpg").exists()
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["suites"] == ["trixie"]
    assert {m["path"] for m in manifest["metadata"]} >= {bundle.KEYRING, "debs/trixie/InRelease"}

    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*") if p.is_file()}
    second = run_module(bundle_index.main, args)
    assert not second["changed"], second
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*") if p.is_file()} == before

    # A broken signature is made again.
    (repo / "InRelease").write_text("garbage")
    third = run_module(bundle_index.main, args)
    assert third["changed"] and "debs/trixie/InRelease" in third["written"]

    # Verification: clean, then a tampered deb named.
    assert run_module(bundle_verify.main, {"path": str(dest)})["checked"] == 1 + 7
    with open(dest / entries[0]["path"], "ab") as handle:
        handle.write(b"x")
    failed = run_module(bundle_verify.main, {"path": str(dest)})
    assert failed["failed"]
    assert "debs/trixie/hello_1.0-1_all.deb: sha256 " in failed["msg"]


@needs_gpg
def test_index_prunes_unlisted_files(tmp_path, gpg_home):
    dest = tmp_path / "bundle"
    entries = [deb_entry(dest, "trixie", make_deb(tmp_path, "hello", "1.0-1"))]
    stale = dest / "files/old/1/amd64/old"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    args = {
        "dest": str(dest),
        "artifacts": entries,
        "kubernetes_version": "1.37.1",
        "suites": ["trixie"],
        "gpg_home": str(gpg_home),
    }
    result = run_module(bundle_index.main, args)
    assert result["removed"] == ["files/old/1/amd64/old"] and not stale.exists()


def test_verify_missing_manifest(tmp_path):
    result = run_module(bundle_verify.main, {"path": str(tmp_path)})
    assert result["failed"] and "manifest.json is missing" in result["msg"]


# --- pki: extra server certificates -----------------------------------------------------------


def test_pki_servers_only_then_full_run_keeps_them(tmp_path):
    store = tmp_path / "pki"
    servers = [{"name": "bundle1", "sans": ["bundle1", "192.0.2.50"]}]
    only = pki.converge({"store": str(store), "servers_only": True, "servers": servers})
    names = [c["name"] for c in only["certificates"]]
    assert names == ["ca", "server@bundle1"]
    assert not (store / "etcd").exists() and not (store / "sa.key").exists()
    cert = x509.load_pem_x509_certificate((store / "servers/bundle1.crt").read_bytes())
    ca = x509.load_pem_x509_certificate((store / "ca.crt").read_bytes())
    assert cert.issuer == ca.subject
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in sans.get_values_for_type(x509.DNSName)] == ["bundle1"]
    assert [str(v) for v in sans.get_values_for_type(x509.IPAddress)] == ["192.0.2.50"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert oct((store / "servers/bundle1.key").stat().st_mode & 0o777) == "0o600"
    assert only["server_files"]["bundle1"]["cert"] == str(store / "servers/bundle1.crt")

    host = {"host": "cp1", "name": "cp1", "ip": "192.0.2.11"}
    full = pki.converge(
        {
            "store": str(store),
            "api_endpoint": "192.0.2.11",
            "control_plane": [host],
            "nodes": [host],
            "servers": servers,
        }
    )
    by_name = {c["name"]: c for c in full["certificates"]}
    assert by_name["ca"]["action"] == "kept"
    assert by_name["server@bundle1"]["action"] == "kept"
    assert "servers/bundle1.crt" not in full["changed_files"]

    changed = pki.converge(
        {
            "store": str(store),
            "servers_only": True,
            "servers": [{"name": "bundle1", "sans": ["bundle1", "bundle.example.com"]}],
        }
    )
    entry = next(c for c in changed["certificates"] if c["name"] == "server@bundle1")
    assert entry["action"] == "renewed" and "SANs differ" in entry["reason"]


@pytest.mark.parametrize(
    ("servers", "says"),
    [
        ([{"name": "a/b", "sans": ["x"]}], "file name"),
        ([{"name": "b", "sans": []}], "has no sans"),
        ([{"name": "b", "sans": ["not a name!"]}], "neither a valid IP"),
        ([{"name": "b", "sans": ["b"]}, {"name": "b", "sans": ["b"]}], "listed twice"),
        ([], "servers is empty"),
    ],
)
def test_pki_servers_refused(tmp_path, servers, says):
    with pytest.raises(pki.PKIError, match=says):
        pki.converge({"store": str(tmp_path / "s"), "servers_only": True, "servers": servers})
    assert not (tmp_path / "s").exists()
