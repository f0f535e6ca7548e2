# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The air-gapped bundle: its layout, manifest.json, checksums and the flat apt repository.

Standard library only: the bundle_* modules run on the build machine and on the bundle server,
which has no Python packages beyond Debian's python3.

Layout (docs/airgap.md)::

    manifest.json
    keys/archive-keyring.gpg | .asc
    debs/<suite>/*.deb Packages Packages.gz Release InRelease Release.gpg
    files/<name>/<version>/<arch>/<filename>
    images/<registry>/<repository path>/<tag>/<arch>.oci.tar
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile

FORMAT = 1
MANIFEST = "manifest.json"
KEYRING = "keys/archive-keyring.gpg"
KEYRING_ASC = "keys/archive-keyring.asc"
REPO_INDEX_FILES = ("Packages", "Packages.gz", "Release", "InRelease", "Release.gpg")
CHUNK = 1 << 20
KINDS = ("deb", "binary", "image")

# Manifest media types (OCI image-spec media-types.md; Docker's image manifest v2 schema 2).
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~:-]*$")
# Packages fields in the order Debian's archive tools write them; the rest follow in their
# order in the control file.
_DEB_FIELD_ORDER = ("Package", "Version", "Architecture")


class BundleError(Exception):
    """A problem the user must fix; the message names the artifact."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hashes_of(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def parse_checksum(text, filename):
    """The sha256 for ``filename`` in an upstream checksum file, or None.

    Understands the three forms upstreams publish: a bare hash (dl.k8s.io's ``.sha256``),
    ``HASH  name`` lines (``sha256sum`` output, ``*name`` for binary mode, GitHub releases'
    ``sha256sums.txt``) and BSD ``SHA256 (name) = HASH``.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and _HEX64.match(lines[0].lower()):
        return lines[0].lower()
    for line in lines:
        bsd = re.match(r"^SHA256 \((.+)\) = ([0-9A-Fa-f]{64})$", line)
        if bsd:
            if os.path.basename(bsd.group(1)) == filename:
                return bsd.group(2).lower()
            continue
        parts = line.split()
        if len(parts) == 2 and _HEX64.match(parts[0].lower()):
            name = parts[1].lstrip("*")
            if name == filename or os.path.basename(name) == filename:
                return parts[0].lower()
        if len(parts) == 1 and _HEX64.match(parts[0].lower()) and len(lines) == 1:
            return parts[0].lower()
    return None


def check_part(value, what):
    """A path component from the manifest: no separators, no dot-dot."""
    value = str(value)
    if not _SAFE_PART.match(value) or ".." in value:
        raise BundleError(f"{what} {value!r} cannot be used in a bundle path")
    return value


def binary_path(name, version, arch, filename):
    parts = [check_part(v, w) for v, w in ((name, "name"), (version, "version"), (arch, "arch"))]
    return "/".join(["files", *parts, check_part(filename, "filename")])


def split_image(ref):
    """``registry/repo/path:tag`` -> (registry, repository path, tag). A registry is required."""
    if "@" in ref:
        raise BundleError(f"image {ref!r}: give a tag (pin a digest with the digest key)")
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag or not name:
        raise BundleError(f"image {ref!r}: expected registry/repository:tag")
    registry, slash, path = name.partition("/")
    if not slash or not ("." in registry or ":" in registry or registry == "localhost"):
        raise BundleError(
            f"image {ref!r}: name the registry (docker.io/library/..., registry.k8s.io/...)"
        )
    for part in path.split("/"):
        check_part(part, f"image {ref!r} path part")
    return registry, path, check_part(tag, f"image {ref!r} tag")


def image_archive_path(registry, path, tag, arch):
    """``images/<registry>/<path>/<tag>/<arch>.oci.tar``.

    One archive per architecture: a tag names a different image on each, and a bundle built for
    several architectures holds all of them.
    """
    parts = [check_part(registry, "registry")]
    parts += [check_part(part, "image path part") for part in str(path).split("/")]
    parts += [check_part(tag, "tag"), f"{check_part(arch, 'arch')}.oci.tar"]
    return "/".join(["images", *parts])


def relpath_ok(rel):
    """A manifest path must stay inside the bundle."""
    norm = os.path.normpath(rel)
    return not (os.path.isabs(rel) or norm.startswith("..") or norm != rel)


def read_manifest(bundle):
    path = os.path.join(bundle, MANIFEST)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path}: not a format {FORMAT} bundle manifest")
    return data


def previous_entries(bundle):
    """The artifacts of the manifest already in ``bundle``, by path (empty when none)."""
    try:
        manifest = read_manifest(bundle)
    except BundleError:
        return {}
    if not manifest:
        return {}
    return {a.get("path"): a for a in manifest.get("artifacts", []) if isinstance(a, dict)}


def still_valid(bundle, previous, source, pinned=None):
    """An entry of the previous manifest whose file is there, unchanged, from ``source``."""
    if not previous or previous.get("source") != source:
        return False
    if pinned and previous.get("sha256") != pinned:
        return False
    path = os.path.join(bundle, previous["path"])
    return os.path.isfile(path) and sha256_file(path) == previous.get("sha256")


def write_atomic(path, data, mode=0o644):
    """Write ``data`` unless the file holds it already; True when written."""
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                if (os.stat(path).st_mode & 0o7777) != mode:
                    os.chmod(path, mode)
                    return True
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def same_content(path, data):
    try:
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


# --- OCI archives ----------------------------------------------------------------------------


def _member(tar, name, path):
    """The bytes of ``name`` in an OCI archive (tar writers differ on a leading ``./``)."""
    for candidate in (name, f"./{name}"):
        try:
            member = tar.getmember(candidate)
        except KeyError:
            continue
        handle = tar.extractfile(member)
        if handle is not None:
            return handle.read()
    raise BundleError(f"{path}: no {name} in the archive")


def _archive_index(tar, path):
    try:
        return json.loads(_member(tar, "index.json", path))
    except BundleError:
        raise BundleError(f"{path}: no index.json, not an OCI archive") from None


def oci_archive_digest(path):
    """The manifest digest an OCI archive's index.json points at (its first manifest)."""
    try:
        with tarfile.open(path) as tar:
            index = _archive_index(tar, path)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read it as an OCI archive: {exc}") from None
    manifests = index.get("manifests") or []
    if not manifests or "digest" not in manifests[0]:
        raise BundleError(f"{path}: index.json lists no manifest")
    return manifests[0]["digest"]


def _blob_name(digest, path):
    algorithm, _, encoded = str(digest).partition(":")
    if algorithm != "sha256" or not _HEX64.match(encoded):
        raise BundleError(f"{path}: {digest!r} is not a sha256 digest")
    return f"blobs/sha256/{encoded}"


def oci_archive_manifest(path, digest):
    """The descriptor of manifest ``digest`` in the OCI archive at ``path``, for an image index.

    Returns {"mediaType", "digest", "size", "variant"}: the media type the manifest names (or,
    when it names none, the one its index.json descriptor gives), the size of its bytes, checked
    against ``digest``, and the CPU variant its image config gives (None when none).
    """
    try:
        with tarfile.open(path) as tar:
            index = _archive_index(tar, path)
            data = _member(tar, _blob_name(digest, path), path)
            if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
                raise BundleError(f"{path}: the blob of {digest} does not match its digest")
            manifest = json.loads(data)
            if not isinstance(manifest, dict):
                raise BundleError(f"{path}: {digest} is not a manifest")
            listed = [d for d in index.get("manifests") or [] if d.get("digest") == digest]
            media_type = manifest.get("mediaType") or (listed and listed[0].get("mediaType"))
            if not media_type:
                raise BundleError(f"{path}: nothing gives the media type of {digest}")
            variant = None
            config = manifest.get("config")
            if media_type not in INDEX_TYPES and isinstance(config, dict):
                image_config = json.loads(
                    _member(tar, _blob_name(config.get("digest"), path), path)
                )
                variant = image_config.get("variant") if isinstance(image_config, dict) else None
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read it as an OCI archive: {exc}") from None
    return {"mediaType": media_type, "digest": digest, "size": len(data), "variant": variant}


def tar_layout(layout_dir, dest):
    """Pack an OCI image layout directory as an OCI archive, deterministically."""
    if not os.path.isfile(os.path.join(layout_dir, "index.json")):
        raise BundleError(f"{layout_dir} is not an OCI image layout (no index.json)")
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=os.path.dirname(dest))
    os.close(fd)
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for root, dirs, files in os.walk(layout_dir):
                dirs.sort()
                for name in sorted(dirs) + sorted(files):
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, layout_dir)
                    if rel == "manifest-digest":
                        continue
                    info = tar.gettarinfo(full, arcname=rel)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mtime = 0
                    if info.isreg():
                        with open(full, "rb") as handle:
                            tar.addfile(info, handle)
                    elif info.isdir():
                        tar.addfile(info)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- the flat apt repository -----------------------------------------------------------------


def parse_control(text):
    """Fields of a deb control file, in order, continuation lines kept."""
    fields = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and fields:
            fields[-1][1] += "\n" + line
            continue
        key, _, value = line.partition(":")
        fields.append([key.strip(), value.strip()])
    return fields


def packages_stanza(control_text, filename, size, md5, sha256):
    fields = parse_control(control_text)
    by_key = {key: value for key, value in fields}
    out = [f"{key}: {by_key[key]}" for key in _DEB_FIELD_ORDER if key in by_key]
    out += [f"{key}: {value}" for key, value in fields if key not in _DEB_FIELD_ORDER]
    out += [f"Filename: ./{filename}", f"Size: {size}", f"MD5sum: {md5}", f"SHA256: {sha256}"]
    return "\n".join(out) + "\n"


def packages_gz(packages):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(packages)
    return out.getvalue()


def release_text(suite, architectures, date, indexes):
    """A Release file for a flat repository; ``indexes`` is {name: bytes}."""
    lines = [
        "Origin: prodgrade.kubernetes",
        f"Label: prodgrade.kubernetes bundle {suite}",
        f"Architectures: {' '.join(architectures)} all",
        f"Date: {date}",
        f"Description: Debian {suite} packages of a prodgrade.kubernetes air-gapped bundle",
        "MD5Sum:",
    ]
    sums = {name: hashes_of(data) for name, data in sorted(indexes.items())}
    for name, data in sorted(indexes.items()):
        lines.append(f" {sums[name][0]} {len(data):>16} {name}")
    lines.append("SHA256:")
    for name, data in sorted(indexes.items()):
        lines.append(f" {sums[name][1]} {len(data):>16} {name}")
    return ("\n".join(lines) + "\n").encode()


def release_date(moment):
    return moment.strftime("%a, %d %b %Y %H:%M:%S UTC")


def release_body_without_date(text):
    return re.sub(r"^Date: .*$", "", text, flags=re.M)


# --- verification ----------------------------------------------------------------------------


def verify_bundle(bundle):
    """Check every file manifest.json lists against its sha256.

    Returns (checked, problems, unlisted): problems are one line per bad file, naming it.
    """
    manifest = read_manifest(bundle)
    if manifest is None:
        raise BundleError(f"{os.path.join(bundle, MANIFEST)} is missing: not a bundle")
    entries = list(manifest.get("artifacts", [])) + list(manifest.get("metadata", []))
    problems = []
    listed = {MANIFEST}
    for entry in entries:
        rel = entry.get("path", "") if isinstance(entry, dict) else ""
        label = f"{entry.get('kind', 'file')} {entry.get('name', rel)}" if rel else str(entry)
        if not rel or not relpath_ok(rel):
            problems.append(f"{label}: manifest path {rel!r} is not inside the bundle")
            continue
        listed.add(rel)
        full = os.path.join(bundle, rel)
        if not os.path.isfile(full):
            problems.append(f"{rel}: missing ({label})")
            continue
        actual = sha256_file(full)
        if actual != entry.get("sha256"):
            problems.append(
                f"{rel}: sha256 {actual} but the manifest says {entry.get('sha256')} ({label})"
            )
    unlisted = []
    for root, _dirs, files in os.walk(bundle):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), bundle)
            if rel not in listed:
                unlisted.append(rel)
    return len(entries), problems, sorted(unlisted)


def copy_file(src, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=os.path.dirname(dest))
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
