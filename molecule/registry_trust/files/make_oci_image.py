#!/usr/bin/env python3
"""Write a minimal "pause" image as an OCI image layout, with no registry and no image tool.

    make_oci_image.py --binary /bin/busybox --out DIR --tag 3.10

One layer (a gzip tar holding the static binary as /bin/busybox), a config whose Entrypoint
sleeps forever, a manifest and index.json, with the media types of the OCI image spec
(media-types.md, image-layout.md). Everything is deterministic: file times, owners and the
gzip header are fixed, so the same binary always gives the same manifest digest. The layout
is what `skopeo copy oci:DIR:TAG docker://...` reads; the manifest digest is printed (and
written to DIR/manifest-digest) so tests can compare it with what a node pulled.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from pathlib import Path

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
# Go's GOARCH names, which the image config and platform matching use.
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}
EPOCH = 0


def canonical(document):
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(binary):
    """An uncompressed tar with bin/ and bin/busybox, root-owned, fixed times."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("bin")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = EPOCH
        tar.addfile(directory)
        data = Path(binary).read_bytes()
        member = tarfile.TarInfo("bin/busybox")
        member.size = len(data)
        member.mode = 0o755
        member.mtime = EPOCH
        tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def gzipped(data):
    out = io.BytesIO()
    # mtime=0 and no file name in the header: the same input gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=EPOCH, compresslevel=6) as gz:
        gz.write(data)
    return out.getvalue()


def build(binary, out, tag, architecture):
    blobs = Path(out, "blobs", "sha256")
    blobs.mkdir(parents=True, exist_ok=True)

    def store(data):
        name = digest(data)
        Path(blobs, name.split(":", 1)[1]).write_bytes(data)
        return name, len(data)

    tar = layer_tar(binary)
    layer = gzipped(tar)
    layer_digest, layer_size = store(layer)
    config = {
        "architecture": architecture,
        "os": "linux",
        "config": {"Entrypoint": ["/bin/busybox", "sleep", "2147483647"]},
        # diff_ids name the uncompressed layer.
        "rootfs": {"type": "layers", "diff_ids": [digest(tar)]},
    }
    config_digest, config_size = store(canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": MEDIA_LAYER_GZIP, "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = store(canonical(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "platform": {"architecture": architecture, "os": "linux"},
                "annotations": {REF_NAME: tag},
            }
        ],
    }
    Path(out, "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    Path(out, "index.json").write_bytes(canonical(index))
    Path(out, "manifest-digest").write_text(manifest_digest + "\n")
    return manifest_digest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="a static binary, e.g. /bin/busybox")
    parser.add_argument("--out", required=True, help="the OCI layout directory to write")
    parser.add_argument("--tag", required=True, help="the tag (ref name) in index.json")
    parser.add_argument("--arch", default=ARCHITECTURES.get(platform.machine(), ""))
    args = parser.parse_args()
    if not args.arch:
        parser.error(f"unknown machine {platform.machine()!r}: give --arch")
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable file")
    print(build(args.binary, args.out, args.tag, args.arch))


if __name__ == "__main__":
    main()
