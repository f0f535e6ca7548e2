#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bundle_debs
short_description: Download Debian packages and their dependency closure into an air-gapped bundle
version_added: 0.1.0
description:
  - Fills C(debs/<suite>/) of a bundle directory with O(packages) and every package they need
    on a host that has nothing installed, and returns the manifest entries of all of them.
  - apt-get runs with its own sources (O(sources)), keyring (O(keyring)), an empty dpkg
    status and its own state in O(state_dir), so the build machine's own configuration and
    installed packages change nothing. apt verifies the Release files against the keyring and
    each package against the signed indices; the module checks the sha256 of every file it
    puts into the bundle against the index once more.
  - Packages already in the bundle with the wanted sha256 are kept; only missing ones are
    downloaded. Packages of the suite's directory that are no longer in the closure are
    removed.
  - The repository's indices (C(Packages), C(Release), signatures) are written by
    M(prodgrade.kubernetes.bundle_index).
options:
  dest:
    description: The bundle directory; the packages go to C(debs/<suite>/) inside it.
    type: path
    required: true
  suite:
    description: The Debian suite (V(bookworm), V(trixie)).
    type: str
    required: true
  packages:
    description: The packages asked for (C(name) or C(name=version)).
    type: list
    elements: str
    required: true
  sources:
    description:
      - apt source lines for the suite, without options (C(deb URI SUITE COMPONENTS)); the
        keyring is added as C(signed-by).
    type: list
    elements: str
    required: true
  keyring:
    description: The OpenPGP keyring that signs the sources' Release files.
    type: path
    default: /usr/share/keyrings/debian-archive-keyring.gpg
  arch:
    description: The Debian architecture of the packages.
    type: str
    default: amd64
  state_dir:
    description:
      - apt's lists, cache and status for this suite and architecture, on the build machine
        (not in the bundle).
    type: path
    required: true
  update:
    description: Refresh the package lists first (V(false) reuses those in O(state_dir)).
    type: bool
    default: true
attributes:
  check_mode:
    description:
      - Refreshes apt's lists in O(state_dir) and resolves the closure; downloads, copies and
        removes nothing in the bundle.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    platforms: debian
    support: full
    description: Needs apt-get on the build machine (any Debian or Ubuntu release).
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: containerd and its closure for trixie
  prodgrade.kubernetes.bundle_debs:
    dest: /srv/bundle
    suite: trixie
    packages: [containerd, runc]
    sources:
      - deb http://deb.debian.org/debian trixie main
      - deb http://deb.debian.org/debian trixie-updates main
      - deb http://deb.debian.org/debian-security trixie-security main
    state_dir: ~/.cache/prodgrade-bundle/apt/trixie-amd64
"""

RETURN = r"""
artifacts:
  description:
    - One manifest entry per package in the suite's directory, sorted by name; C(requested) is
      V(true) on those named in O(packages).
  returned: success
  type: list
  elements: dict
  sample:
    - {kind: deb, name: containerd, version: "1.7.24~ds1-6+deb13u1", arch: amd64, suite: trixie,
       path: "debs/trixie/containerd_1.7.24~ds1-6+deb13u1_amd64.deb", sha256: "...",
       source: "http://deb.debian.org/debian/pool/main/c/containerd/...", requested: true}
fetched:
  description: The packages' paths downloaded (or that would be).
  returned: success
  type: list
  elements: str
removed:
  description: Files removed from the suite's directory because no longer in the closure.
  returned: success
  type: list
  elements: str
"""

import os  # noqa: E402
import re  # noqa: E402
import urllib.parse  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    REPO_INDEX_FILES,
    BundleError,
    check_part,
    copy_file,
    sha256_file,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    same_content as bundle_same,
)

# 'URL' FILE SIZE [HASH]: apt prints no hash for some indices (the security archive's).
_URI_LINE = re.compile(r"^'(?P<url>[^']+)' (?P<file>\S+) (?P<size>\d+)(?: \S*)?$")


def apt_options(p, archives):
    state = p["state_dir"]
    return [
        "-o", f"Dir::Etc::sourcelist={state}/sources.list",
        "-o", f"Dir::Etc::sourceparts={state}/empty",
        "-o", f"Dir::Etc::preferencesparts={state}/preferences.d",
        "-o", f"Dir::Etc::preferences={state}/preferences",
        "-o", f"Dir::State={state}/state",
        "-o", f"Dir::State::status={state}/status",
        "-o", f"Dir::Cache={state}/cache",
        "-o", f"Dir::Cache::archives={archives}",
        "-o", f"APT::Architecture={p['arch']}",
        "-o", f"APT::Architectures={p['arch']}",
        "-o", "APT::Install-Recommends=false",
        "-o", "APT::Install-Suggests=false",
        "-o", "APT::Sandbox::User=root",
        "-o", "Debug::NoLocking=true",
        "-o", "Acquire::Languages=none",
    ]  # fmt: skip


def prepare_state(p):
    state = p["state_dir"]
    for sub in ("state/lists/partial", "cache/archives/partial", "preferences.d", "empty"):
        os.makedirs(os.path.join(state, sub), exist_ok=True)
    lines = [f"deb [signed-by={p['keyring']}] {line.split(None, 1)[1]}" for line in p["sources"]]
    sources = "\n".join(lines) + "\n"
    path = os.path.join(state, "sources.list")
    if not bundle_same(path, sources.encode()):
        with open(path, "w") as handle:
            handle.write(sources)
    for name in ("status", "preferences"):
        path = os.path.join(state, name)
        if not os.path.exists(path):
            with open(path, "w"):
                pass


def closure(module, p):
    """[(apt file, bundle file, url, sha256, (name, version, arch))]: the request's closure
    on an empty host."""
    empty = os.path.join(p["state_dir"], "empty")
    # -q, not -qq: with -qq apt-get leaves out which dependency cannot be met (on stdout).
    cmd = ["apt-get", *apt_options(p, empty), "-q", "--print-uris", "install", *p["packages"]]
    rc, out, err = module.run_command(cmd, environ_update={"LC_ALL": "C"})
    if rc != 0:
        unmet = out.partition("The following packages have unmet dependencies:")[2].strip()
        detail = "\n".join(part for part in (unmet, err.strip()) if part) or out.strip()
        raise BundleError(
            f"suite {p['suite']}: apt-get cannot resolve {' '.join(p['packages'])}: {detail}"
        )
    result = []
    for line in out.splitlines():
        match = _URI_LINE.match(line.strip())
        if not match:
            if line.startswith("'"):
                raise BundleError(f"suite {p['suite']}: cannot read apt-get's line {line!r}")
            continue
        url = match.group("url")
        # Stored under the pool's file name (no epoch); name and version from apt's name.
        local = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
        check_part(local, "package file")
        name, version, arch = urllib.parse.unquote(match.group("file"))[:-4].split("_")
        result.append([match.group("file"), local, url, None, (name, version, arch)])
    if not result:
        raise BundleError(f"suite {p['suite']}: apt-get resolved nothing for {p['packages']}")
    # apt-get --print-uris may show only MD5Sum: take SHA256 from the (signed) indices.
    cmd = ["apt-cache", *apt_options(p, empty), "show"]
    cmd += [f"{nva[0]}={nva[1]}" for *_rest, nva in result]
    rc, out, err = module.run_command(cmd, environ_update={"LC_ALL": "C"})
    if rc != 0:
        raise BundleError(f"suite {p['suite']}: apt-cache show failed: {(err or out).strip()}")
    sums = {}
    for stanza in out.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if "SHA256" in fields:
            sums[(fields.get("Package"), fields.get("Version"))] = fields["SHA256"].lower()
    for item in result:
        item[3] = sums.get(item[4][:2])
        if not item[3]:
            raise BundleError(f"suite {p['suite']}: the index gives no SHA256 for {item[1]}")
    return [tuple(item) for item in result]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            suite=dict(type="str", required=True),
            packages=dict(type="list", elements="str", required=True),
            sources=dict(type="list", elements="str", required=True),
            keyring=dict(type="path", default="/usr/share/keyrings/debian-archive-keyring.gpg"),
            arch=dict(type="str", default="amd64"),
            state_dir=dict(type="path", required=True),
            update=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    fetched, removed, entries = [], [], []
    try:
        suite = check_part(p["suite"], "suite")
        bad = [line for line in p["sources"] if not line.startswith("deb ")]
        if bad:
            raise BundleError(f"sources must be 'deb URI SUITE COMPONENTS' lines: {bad}")
        prepare_state(p)
        if p["update"]:
            cmd = [
                "apt-get",
                *apt_options(p, os.path.join(p["state_dir"], "empty")),
                "-q",
                "update",
            ]
            rc, out, err = module.run_command(cmd, environ_update={"LC_ALL": "C"})
            if rc != 0 or re.search(r"^(W|E): .*(Failed to fetch|NO_PUBKEY|not signed)", err, re.M):
                raise BundleError(f"suite {suite}: apt-get update failed: {(err or out).strip()}")
        wanted = closure(module, p)
        names = {re.split(r"[=/]", pkg, maxsplit=1)[0] for pkg in p["packages"]}
        repo = os.path.join(p["dest"], "debs", suite)
        archives = os.path.join(p["state_dir"], "cache", "archives")
        missing = []
        for filename, local, _url, sha, nva in wanted:
            target = os.path.join(repo, local)
            if not (os.path.isfile(target) and sha256_file(target) == sha):
                missing.append((filename, local, sha, nva))
        if missing:
            fetched = [f"debs/{suite}/{item[1]}" for item in missing]
        if missing and not module.check_mode:
            # The whole closure, pinned: the missing packages alone may not resolve to it (a
            # dependency pinned in the request is not the candidate). apt-get skips the
            # files already in its cache.
            names_versions = [f"{nva[0]}={nva[1]}" for *_rest, nva in wanted]
            cmd = ["apt-get", *apt_options(p, archives), "-qq", "-y", "--download-only"]
            cmd += ["--allow-downgrades", "install", *names_versions]
            rc, out, err = module.run_command(cmd, environ_update={"LC_ALL": "C"})
            if rc != 0:
                raise BundleError(f"suite {suite}: apt-get download failed: {(err or out).strip()}")
            for filename, local, sha, _nva in missing:
                src = os.path.join(archives, filename)
                actual = sha256_file(src) if os.path.isfile(src) else "missing"
                if actual != sha:
                    # Dropped from apt's cache, so the next run downloads it afresh.
                    if os.path.isfile(src):
                        os.unlink(src)
                    raise BundleError(
                        f"deb {local} ({suite}): checksum mismatch: sha256 {actual}, Debian's "
                        f"signed index says {sha}; the file was discarded, run again to fetch it"
                    )
                copy_file(src, os.path.join(repo, local))
        keep = {item[1] for item in wanted} | set(REPO_INDEX_FILES)
        if os.path.isdir(repo):
            for name in sorted(os.listdir(repo)):
                if name not in keep:
                    removed.append(f"debs/{suite}/{name}")
                    if not module.check_mode:
                        os.unlink(os.path.join(repo, name))
        for _filename, local, url, sha, (name, version, arch) in wanted:
            entry = {
                "kind": "deb",
                "name": name,
                "version": version,
                "arch": arch,
                "suite": suite,
                "path": f"debs/{suite}/{local}",
                "sha256": sha,
                "source": url,
            }
            if name in names:
                entry["requested"] = True
            entries.append(entry)
        entries.sort(key=lambda e: (e["name"], e["version"]))
    except (BundleError, OSError, ValueError) as exc:
        module.fail_json(msg=to_native(exc), fetched=fetched)
    module.exit_json(
        changed=bool(fetched or removed), artifacts=entries, fetched=fetched, removed=removed
    )


if __name__ == "__main__":
    main()
