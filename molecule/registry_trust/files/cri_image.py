#!/usr/bin/env python3
"""Pull and list images over the CRI ImageService, as the kubelet does (crictl is not packaged).

    cri_image.py pull IMAGE [--kubelet-config /var/lib/kubelet/config.json]
    cri_image.py list

Talks gRPC to containerd's CRI socket with python3-grpcio (Debian's package), with the
request and reply messages of runtime.v1 (k8s.io/cri-api api.proto) encoded by hand.

`pull` without --kubelet-config sends no AuthConfig: what `crictl pull` and containerd's own
pulls of the sandbox image do, so only containerd's registry configuration (hosts.toml) can
authenticate. With --kubelet-config it does what the kubelet does: it looks the image's
registry up in the kubelet's config.json and sends that entry's user and password with the
PullImage call (the kubelet decodes "auth" into both). A registry missing from config.json is
an error, so the test cannot pass without the role's entry.

Prints one JSON object; exits 1 with {"error": ..., "code": ...} when the call fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

import grpc

SOCKET = "unix:///run/containerd/containerd.sock"
PULL = "/runtime.v1.ImageService/PullImage"
LIST = "/runtime.v1.ImageService/ListImages"


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    """A length-delimited field (wire type 2): strings and nested messages."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def fields(data):
    """(number, value) of each field; value is bytes (type 2) or int (varint)."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 2:
            size, pos = read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


def read_varint(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def registry_of(image):
    """The registry host of an image reference, as the kubelet matches config.json keys."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def kubelet_auth(config_path, image):
    """The (user, password) the kubelet would send for `image`, from its config.json."""
    with open(config_path, encoding="utf-8") as handle:
        auths = json.load(handle).get("auths", {})
    host = registry_of(image)
    if host not in auths:
        raise LookupError(f"{config_path} has no entry for {host} (entries: {sorted(auths)})")
    user, _, password = base64.b64decode(auths[host]["auth"]).decode().partition(":")
    return user, password


def pull(channel, image, auth, timeout):
    request = field(1, field(1, image))  # PullImageRequest.image = ImageSpec{image}
    if auth:
        request += field(2, field(1, auth[0]) + field(2, auth[1]))  # AuthConfig{username, password}
    reply = channel.unary_unary(PULL)(request, timeout=timeout)
    refs = [value.decode() for number, value in fields(reply) if number == 1]
    return {"image": image, "image_ref": refs[0] if refs else "", "sent_credentials": bool(auth)}


def list_images(channel, timeout):
    reply = channel.unary_unary(LIST)(b"", timeout=timeout)
    images = []
    for number, value in fields(reply):
        if number != 1:
            continue
        image = {"id": "", "repo_tags": [], "repo_digests": []}
        for inner, item in fields(value):
            if inner == 1:
                image["id"] = item.decode()
            elif inner == 2:
                image["repo_tags"].append(item.decode())
            elif inner == 3:
                image["repo_digests"].append(item.decode())
        images.append(image)
    return {"images": images}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default=SOCKET)
    parser.add_argument("--timeout", type=float, default=60.0)
    sub = parser.add_subparsers(dest="command", required=True)
    pull_cmd = sub.add_parser("pull")
    pull_cmd.add_argument("image")
    pull_cmd.add_argument("--kubelet-config", help="send the kubelet's credentials from this file")
    sub.add_parser("list")
    args = parser.parse_args()

    with grpc.insecure_channel(args.socket) as channel:
        try:
            if args.command == "pull":
                auth = None
                if args.kubelet_config:
                    auth = kubelet_auth(args.kubelet_config, args.image)
                result = pull(channel, args.image, auth, args.timeout)
            else:
                result = list_images(channel, args.timeout)
        except grpc.RpcError as exc:
            print(json.dumps({"error": exc.details(), "code": exc.code().name}))
            return 1
        except (OSError, LookupError, ValueError) as exc:
            print(json.dumps({"error": str(exc), "code": "LOCAL"}))
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
