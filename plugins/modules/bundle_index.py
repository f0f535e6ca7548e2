#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bundle_index
short_description: Write a bundle's signed apt repositories, public key and manifest.json
version_added: 0.1.0
description:
  - Last step of a bundle build. Given the manifest entries of every artifact (from
    M(prodgrade.kubernetes.bundle_debs) and M(prodgrade.kubernetes.bundle_fetch)), it writes
    C(manifest.json), and for each suite a flat apt repository in C(debs/<suite>/)
    (C(Packages), C(Packages.gz), C(Release), and C(InRelease) and C(Release.gpg) signed with
    the OpenPGP key in O(gpg_home)), and the public key as C(keys/archive-keyring.gpg)
    (binary, for apt's C(signed-by)) and C(keys/archive-keyring.asc).
  - The private key stays in O(gpg_home) on the build machine; only the public key goes into
    the bundle.
  - Nothing is rewritten when the content is the same, so a second run reports no change; the
    C(Release) date and C(created) of the manifest change only with the content. Signatures
    are made again when C(gpgv) does not accept them with the bundle's key.
  - Every file under C(debs/), C(files/) and C(images/) that no entry lists is removed, so
    the bundle holds exactly what C(manifest.json) lists.
options:
  dest:
    description: The bundle directory.
    type: path
    required: true
  artifacts:
    description:
      - The manifest entries (C(kind), C(name), C(version), C(arch), C(path), C(sha256),
        C(source), ...).
    type: list
    elements: dict
    required: true
  kubernetes_version:
    description: The Kubernetes release the bundle is for.
    type: str
    required: true
  suites:
    description: The Debian suites that get a repository (each needs its C(debs/<suite>/)).
    type: list
    elements: str
    default: []
  architectures:
    description: The architectures of the bundle.
    type: list
    elements: str
    default: [amd64]
  gpg_home:
    description: The GnuPG home directory holding the signing key (build machine only).
    type: path
  signing_key:
    description: The fingerprint of the signing key; default, the only secret key in O(gpg_home).
    type: str
attributes:
  check_mode:
    description: Reports whether anything would change; writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    platforms: posix
    support: full
    description: Needs gpg, gpgv and dpkg-deb on the build machine when there are suites.
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Write the repositories and manifest.json
  prodgrade.kubernetes.bundle_index:
    dest: /srv/bundle
    artifacts: "{{ debs.results | map(attribute='artifacts') | flatten + files.artifacts }}"
    kubernetes_version: 1.37.1
    suites: [trixie]
    gpg_home: ~/.prodgrade/bundle-signing-key
"""

RETURN = r"""
manifest:
  description: The path of manifest.json.
  returned: success
  type: str
written:
  description: The files (inside O(dest)) written, or that would be.
  returned: success
  type: list
  elements: str
removed:
  description: Unlisted files removed (or that would be).
  returned: success
  type: list
  elements: str
fingerprint:
  description: The signing key's fingerprint.
  returned: when O(suites) is not empty
  type: str
"""

import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    FORMAT,
    KEYRING,
    KEYRING_ASC,
    MANIFEST,
    REPO_INDEX_FILES,
    BundleError,
    hashes_of,
    packages_gz,
    packages_stanza,
    read_manifest,
    release_body_without_date,
    release_date,
    release_text,
    relpath_ok,
    rfc3339,
    same_content,
    utcnow,
    write_atomic,
)


class Indexer:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.dest = self.p["dest"]
        self.written = []
        self.now = utcnow()

    def run(self, cmd, what, data=None):
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=True, encoding=None)
        if rc != 0:
            raise BundleError(f"{what} failed: {to_native(err).strip()}")
        return out

    def put(self, rel, data):
        full = os.path.join(self.dest, rel)
        if same_content(full, data):
            return False
        self.written.append(rel)
        if not self.module.check_mode:
            write_atomic(full, data)
        return True

    def fingerprint(self):
        out = to_native(
            self.run(
                [
                    "gpg",
                    "--homedir",
                    self.p["gpg_home"],
                    "--batch",
                    "--with-colons",
                    "--list-secret-keys",
                ],
                "gpg --list-secret-keys",
            )
        )
        fprs = []
        want_fpr = False
        for line in out.splitlines():
            fields = line.split(":")
            if fields[0] == "sec":
                want_fpr = True
            elif fields[0] == "fpr" and want_fpr:
                fprs.append(fields[9])
                want_fpr = False
        if self.p["signing_key"]:
            wanted = self.p["signing_key"].replace(" ", "").upper()
            if wanted not in fprs:
                raise BundleError(f"signing key {wanted} is not in {self.p['gpg_home']}")
            return wanted
        if len(fprs) != 1:
            raise BundleError(
                f"{self.p['gpg_home']} holds {len(fprs)} secret keys: set signing_key"
            )
        return fprs[0]

    def keys(self, fpr):
        home = self.p["gpg_home"]
        binary = self.run(["gpg", "--homedir", home, "--batch", "--export", fpr], "gpg --export")
        armored = self.run(
            ["gpg", "--homedir", home, "--batch", "--armor", "--export", fpr], "gpg --export"
        )
        self.put(KEYRING, binary)
        self.put(KEYRING_ASC, armored)
        return binary

    def repo(self, suite, debs, fpr, keyring):
        base = f"debs/{suite}"
        stanzas = []
        for entry in sorted(debs, key=lambda e: (e["name"], e["version"], e["path"])):
            full = os.path.join(self.dest, entry["path"])
            if not os.path.isfile(full):
                if self.module.check_mode:
                    continue
                raise BundleError(f"deb {entry['path']} is listed but missing")
            control = to_native(
                self.run(["dpkg-deb", "--field", full], f"dpkg-deb {entry['path']}")
            )
            with open(full, "rb") as handle:
                data = handle.read()
            md5, sha = hashes_of(data)
            if sha != entry["sha256"]:
                raise BundleError(f"deb {entry['path']}: sha256 {sha}, expected {entry['sha256']}")
            stanzas.append(packages_stanza(control, os.path.basename(full), len(data), md5, sha))
        packages = "\n".join(stanzas).encode()
        indexes = {"Packages": packages, "Packages.gz": packages_gz(packages)}
        for name, data in indexes.items():
            self.put(f"{base}/{name}", data)
        release_path = os.path.join(self.dest, base, "Release")
        new = release_text(suite, self.p["architectures"], release_date(self.now), indexes)
        try:
            with open(release_path, "rb") as handle:
                old = handle.read()
        except FileNotFoundError:
            old = None
        if old is not None and release_body_without_date(
            to_native(old)
        ) == release_body_without_date(to_native(new)):
            new = old  # same content: keep its date
        release_changed = self.put(f"{base}/Release", new)
        if release_changed or not self.signatures_ok(base, keyring):
            for name in ("InRelease", "Release.gpg"):
                if f"{base}/{name}" not in self.written:
                    self.written.append(f"{base}/{name}")
            if not self.module.check_mode:
                self.sign(base, new, fpr)

    def signatures_ok(self, base, keyring):
        full = os.path.join(self.dest, base)
        if not all(os.path.isfile(os.path.join(full, n)) for n in ("InRelease", "Release.gpg")):
            return False
        with tempfile.TemporaryDirectory() as tmp:
            ring = os.path.join(tmp, "keyring.gpg")
            with open(ring, "wb") as handle:
                handle.write(keyring)
            checks = (
                [os.path.join(full, "InRelease")],
                [os.path.join(full, "Release.gpg"), os.path.join(full, "Release")],
            )
            for args in checks:
                rc, _out, _err = self.module.run_command(["gpgv", "--keyring", ring, *args])
                if rc != 0:
                    return False
            with open(os.path.join(full, "InRelease"), "rb") as handle:
                inrelease = handle.read()
            with open(os.path.join(full, "Release"), "rb") as handle:
                release = handle.read()
        return release in inrelease

    def sign(self, base, release, fpr):
        full = os.path.join(self.dest, base)
        gpg = ["gpg", "--homedir", self.p["gpg_home"], "--batch", "--yes", "--local-user", fpr]
        gpg += ["--digest-algo", "SHA512"]
        inrelease = self.run([*gpg, "--clearsign", "--output", "-"], "gpg --clearsign", release)
        detached = self.run([*gpg, "--armor", "--detach-sign", "--output", "-"], "gpg -ab", release)
        write_atomic(os.path.join(full, "InRelease"), inrelease)
        write_atomic(os.path.join(full, "Release.gpg"), detached)

    def metadata(self, suites):
        entries = []
        paths = [KEYRING, KEYRING_ASC] if suites else []
        for suite in suites:
            paths += [f"debs/{suite}/{name}" for name in REPO_INDEX_FILES]
        for rel in paths:
            full = os.path.join(self.dest, rel)
            if os.path.isfile(full):
                with open(full, "rb") as handle:
                    entries.append({"path": rel, "sha256": hashes_of(handle.read())[1]})
            elif not self.module.check_mode:
                raise BundleError(f"{rel} was not written")
        return entries

    def prune(self, listed):
        removed = []
        keep = set(listed)
        for top in ("debs", "files", "images"):
            for root, _dirs, files in os.walk(os.path.join(self.dest, top)):
                for name in files:
                    rel = os.path.relpath(os.path.join(root, name), self.dest)
                    if rel in keep or (
                        top == "debs" and name in REPO_INDEX_FILES and rel.count("/") == 2
                    ):
                        continue
                    removed.append(rel)
                    if not self.module.check_mode:
                        os.unlink(os.path.join(root, name))
        return removed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            artifacts=dict(type="list", elements="dict", required=True),
            kubernetes_version=dict(type="str", required=True),
            suites=dict(type="list", elements="str", default=[]),
            architectures=dict(type="list", elements="str", default=["amd64"]),
            gpg_home=dict(type="path"),
            signing_key=dict(type="str"),
        ),
        required_if=[],
        supports_check_mode=True,
    )
    p = module.params
    idx = Indexer(module)
    result = {}
    try:
        artifacts = p["artifacts"]
        seen = set()
        for entry in artifacts:
            rel = entry.get("path")
            if (
                entry.get("kind") not in ("deb", "binary", "image")
                or not rel
                or not relpath_ok(rel)
            ):
                raise BundleError(f"not a bundle manifest entry: {entry!r}")
            if rel in seen:
                raise BundleError(f"{rel} is listed twice")
            seen.add(rel)
        suites = p["suites"]
        if suites:
            if not p["gpg_home"]:
                raise BundleError("gpg_home is required to sign the suites' repositories")
            fpr = idx.fingerprint()
            result["fingerprint"] = fpr
            keyring = idx.keys(fpr)
            for suite in suites:
                debs = [a for a in artifacts if a["kind"] == "deb" and a.get("suite") == suite]
                if not debs:
                    raise BundleError(f"suite {suite} has no packages")
                idx.repo(suite, debs, fpr, keyring)
        removed = idx.prune(seen)
        body = {
            "format": FORMAT,
            "kubernetes_version": p["kubernetes_version"],
            "created": None,
            "architectures": p["architectures"],
            "suites": suites,
            "artifacts": artifacts,
            "metadata": idx.metadata(suites),
        }
        old = None
        with contextlib.suppress(BundleError):
            old = read_manifest(p["dest"])
        if old is not None and dict(old, created=None) == body:
            body["created"] = old.get("created")
        else:
            body["created"] = rfc3339(idx.now)
        idx.put(MANIFEST, (json.dumps(body, indent=1, sort_keys=False) + "\n").encode())
    except (BundleError, OSError) as exc:
        module.fail_json(msg=to_native(exc), written=idx.written)
    module.exit_json(
        changed=bool(idx.written or removed),
        manifest=os.path.join(p["dest"], MANIFEST),
        written=idx.written,
        removed=removed,
        **result,
    )


if __name__ == "__main__":
    main()
