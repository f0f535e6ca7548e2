# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CRI endpoints: where runtimes listen, how to find them and how to ask them for their version.

Shared by the ``cri_socket`` module and anything else that needs to know whether a container
runtime answers the kubelet's API. It holds:

* the table of well-known CRI sockets and the systemd units serving them,
* parsing of endpoint strings and ``auto`` discovery with deduplication by real path,
* checks of a socket path (exists, is a socket, accepts connections),
* a minimal, blocking gRPC unary client over HTTP/2 cleartext on a unix socket, written with
  the standard library only so that nodes need no gRPC package, plus the hand-written protobuf
  encoding of ``VersionRequest`` and decoding of ``VersionResponse``,
* small helpers around ``systemctl`` and ``journalctl`` that take a ``run`` callable with the
  signature of ``AnsibleModule.run_command`` (``run(argv) -> (rc, stdout, stderr)``).

Nothing here imports Ansible.
"""

from __future__ import annotations

import collections
import errno
import os
import socket
import stat
import struct
import time

DEFAULT_TIMEOUT = 5.0

# --- well-known endpoints -------------------------------------------------------------------

KnownEndpoint = collections.namedtuple("KnownEndpoint", "runtime path unit socket_unit")

# Order matters: it is the order of the ``auto`` expansion and of the module's report.
KNOWN_ENDPOINTS = (
    KnownEndpoint("containerd", "/run/containerd/containerd.sock", "containerd.service", None),
    KnownEndpoint("crio", "/run/crio/crio.sock", "crio.service", None),
    KnownEndpoint(
        "cri-dockerd", "/run/cri-dockerd.sock", "cri-docker.service", "cri-docker.socket"
    ),
    # dockershim lived inside the kubelet until Kubernetes 1.24: there is no unit of its own.
    KnownEndpoint("dockershim", "/var/run/dockershim.sock", None, None),
)

AUTO = "auto"
UNKNOWN_RUNTIME = "unknown"
DOCKERSHIM = "dockershim"

CRI_V1 = "v1"
CRI_V1ALPHA2 = "v1alpha2"
VERSION_METHODS = (
    (CRI_V1, "/runtime.v1.RuntimeService/Version"),
    (CRI_V1ALPHA2, "/runtime.v1alpha2.RuntimeService/Version"),
)

NO_MESSAGE = (
    "the server answered without a response message (an error status such as UNIMPLEMENTED)"
)


class CriError(ValueError):
    """An endpoint that cannot be used as given; the message says what is wrong."""


class ProtobufError(ValueError):
    """Bytes that are not a valid protobuf message of the expected shape."""


# --- endpoints and discovery ----------------------------------------------------------------


def parse_endpoint(text):
    """Return the socket path of a CRI endpoint string.

    Accepts ``unix:///abs/path`` (the form the kubelet and crictl use), ``unix:/abs/path`` and a
    plain absolute path. The returned path is normalised (``os.path.normpath``) but symlinks are
    not resolved. Raises CriError for anything else, with a hint at the accepted forms.
    """
    if not isinstance(text, str) or not text.strip():
        raise CriError(
            "An endpoint must be a non-empty string such as "
            "unix:///run/containerd/containerd.sock or /run/containerd/containerd.sock."
        )
    value = text.strip()
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if path.startswith("//"):
            # unix://host/path is not a thing: the part after // up to the next / would be a
            # host name, and the kubelet would silently drop it.
            path = path[2:]
        if not path.startswith("/"):
            raise CriError(
                f"Endpoint {text!r} has no absolute path after 'unix://': write three slashes, "
                "as in unix:///run/containerd/containerd.sock."
            )
    elif "://" in value:
        scheme = value.split("://", 1)[0]
        raise CriError(
            f"Endpoint {text!r} uses {scheme}://, but only unix socket endpoints are supported "
            "(unix:///path or an absolute path); on Linux the kubelet reaches its runtime "
            "through a unix socket."
        )
    elif value.startswith("/"):
        path = value
    else:
        raise CriError(
            f"Endpoint {text!r} is neither 'auto', a unix:///absolute/path endpoint nor an "
            "absolute path."
        )
    return os.path.normpath(path)


def endpoint_url(path):
    """The ``unix://`` form of a socket path."""
    return "unix://" + path


def identify(path, known=None):
    """Return the KnownEndpoint whose socket is ``path`` (compared by real path), or None."""
    real = os.path.realpath(path)
    for entry in KNOWN_ENDPOINTS if known is None else known:
        if real == os.path.realpath(entry.path) or path == entry.path:
            return entry
    return None


def expand_endpoints(requested, known=None):
    """Turn the requested endpoint strings into a list of targets, one per distinct socket.

    ``auto`` expands to every entry of ``known`` (default KNOWN_ENDPOINTS) in table order.
    Endpoints that resolve to the same real path are reported once, at the position of the
    first one; when any of them was named explicitly the kept target is marked explicit.

    Each target is a dict with ``endpoint`` (the string as given, or ``unix://PATH`` for an
    auto entry), ``path``, ``runtime``, ``unit``, ``socket_unit`` and ``explicit``.
    Raises CriError for an empty list or an endpoint that does not parse.
    """
    known = KNOWN_ENDPOINTS if known is None else known
    if not requested:
        raise CriError("endpoints is empty: name at least one endpoint, or use 'auto'.")
    targets = []
    by_real = {}
    for item in requested:
        if isinstance(item, str) and item.strip() == AUTO:
            candidates = [(endpoint_url(entry.path), entry.path, entry, False) for entry in known]
        else:
            path = parse_endpoint(item)
            candidates = [(item.strip(), path, identify(path, known), True)]
        for endpoint, path, entry, explicit in candidates:
            real = os.path.realpath(path)
            if real in by_real:
                if explicit:
                    by_real[real]["explicit"] = True
                continue
            target = dict(
                endpoint=endpoint,
                path=path,
                runtime=entry.runtime if entry else UNKNOWN_RUNTIME,
                unit=entry.unit if entry else None,
                socket_unit=entry.socket_unit if entry else None,
                explicit=explicit,
            )
            by_real[real] = target
            targets.append(target)
    return targets


# --- socket checks --------------------------------------------------------------------------


def inspect_path(path):
    """Return ``(exists, is_socket, kind, error)`` for a socket path (symlinks are followed).

    ``kind`` names what is there (``socket``, ``regular file``, ``directory``, ...) and
    ``error`` explains a stat failure other than "does not exist".
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return False, False, None, None
        return False, False, None, f"cannot stat {path}: {exc.strerror or exc}"
    mode = st.st_mode
    if stat.S_ISSOCK(mode):
        return True, True, "socket", None
    if stat.S_ISREG(mode):
        kind = "regular file"
    elif stat.S_ISDIR(mode):
        kind = "directory"
    elif stat.S_ISFIFO(mode):
        kind = "named pipe"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "device node"
    else:
        kind = "non-socket file"
    return True, False, kind, None


def connect_error_text(exc, timeout):
    """Explain why connecting to a unix socket failed."""
    if isinstance(exc, socket.timeout):
        return f"the connection was not accepted within {timeout:g} seconds"
    code = getattr(exc, "errno", None)
    if code == errno.ECONNREFUSED:
        return (
            "connection refused: no process accepts connections on it, so it is a stale "
            "socket left by a runtime that stopped or crashed"
        )
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied: run the check as root (become: true)"
    if code == errno.ENOENT:
        return "the socket disappeared while it was being checked"
    if code == errno.EAGAIN:
        return "the listener's backlog is full: the runtime does not accept connections"
    return f"connecting failed: {exc}"


def check_listening(path, timeout=DEFAULT_TIMEOUT):
    """Return ``(True, None)`` when a unix socket accepts a connection, else ``(False, why)``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError as exc:
        return False, connect_error_text(exc, timeout)
    finally:
        sock.close()
    return True, None


# --- HPACK (encoding only, literal representations without Huffman coding) ------------------


def hpack_integer(value, prefix_bits=7, first_byte=0):
    """Encode ``value`` as an HPACK integer with an N-bit prefix (RFC 7541, section 5.1).

    ``first_byte`` carries the bits above the prefix (the H bit of a string length is 0 here).
    """
    if value < 0:
        raise ValueError("HPACK integers are not negative")
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = bytearray([first_byte | limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(text):
    """An HPACK string literal without Huffman coding: 7-bit-prefix length, then the bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return hpack_integer(len(data), 7) + data


def hpack_literal(name, value):
    """One "literal header field without indexing, new name" representation (0x00 prefix)."""
    return b"\x00" + hpack_string(name) + hpack_string(value)


def request_header_block(method_path, authority="localhost"):
    """The HPACK block of a gRPC request for ``method_path`` (``/package.Service/Method``)."""
    headers = (
        (":method", "POST"),
        (":scheme", "http"),
        (":path", method_path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    )
    return b"".join(hpack_literal(name, value) for name, value in headers)


# --- HTTP/2 framing -------------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

FRAME_DATA = 0x0
FRAME_HEADERS = 0x1
FRAME_RST_STREAM = 0x3
FRAME_SETTINGS = 0x4
FRAME_PING = 0x6
FRAME_GOAWAY = 0x7

FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8

STREAM_ID = 1
# What we accept without announcing more in SETTINGS: the default maximum frame size and
# the default flow-control window of one stream.
MAX_FRAME_SIZE = 16384
MAX_RESPONSE_BYTES = 65535

HTTP2_ERRORS = {
    0x0: "NO_ERROR",
    0x1: "PROTOCOL_ERROR",
    0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT",
    0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR",
    0x7: "REFUSED_STREAM",
    0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR",
    0xA: "CONNECT_ERROR",
    0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY",
    0xD: "HTTP_1_1_REQUIRED",
}


def encode_frame(frame_type, flags, stream_id, payload=b""):
    """One HTTP/2 frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    if len(payload) > 0xFFFFFF:
        raise ValueError("HTTP/2 frame payload too large")
    return (
        struct.pack(">I", len(payload))[1:]
        + struct.pack(">BBI", frame_type, flags, stream_id & 0x7FFFFFFF)
        + payload
    )


def decode_frame_header(header):
    """``(length, type, flags, stream_id)`` of a 9-byte HTTP/2 frame header."""
    length = int.from_bytes(header[0:3], "big")
    stream_id = int.from_bytes(header[5:9], "big") & 0x7FFFFFFF
    return length, header[3], header[4], stream_id


def error_code_text(code):
    name = HTTP2_ERRORS.get(code)
    return f"{code} {name}" if name else str(code)


def grpc_frame(message):
    """A gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, bytes."""
    return b"\x00" + struct.pack(">I", len(message)) + message


def split_grpc_message(body):
    """Return ``(message, problem)`` from the DATA bytes of a gRPC response.

    ``message`` is the first complete message (possibly empty) or None; ``problem`` then says
    why there is none.
    """
    if not body:
        return None, NO_MESSAGE
    if len(body) < 5:
        return None, "the response message was cut off inside its 5-byte prefix"
    flag = body[0]
    length = struct.unpack(">I", bytes(body[1:5]))[0]
    if flag != 0:
        return None, "the server sent a compressed message, which this client does not decode"
    if len(body) < 5 + length:
        return None, (
            f"the response message was cut off ({len(body) - 5} of {length} bytes received)"
        )
    return bytes(body[5 : 5 + length]), None


GrpcResult = collections.namedtuple("GrpcResult", "message http2 error")
GrpcResult.__doc__ = """Outcome of one unary call.

``message``: the response bytes, or None when no complete message arrived.
``http2``: whether the server sent a valid HTTP/2 SETTINGS frame, that is speaks HTTP/2.
``error``: why there is no message (None on success).
"""


class _Timeout(Exception):
    pass


class _Http2Connection:
    """Blocking frame I/O on a connected socket, bounded by an absolute deadline."""

    def __init__(self, sock, deadline, clock):
        self.sock = sock
        self.deadline = deadline
        self.clock = clock
        self.buffer = bytearray()
        self.body = bytearray()
        self.http2 = False

    def _remaining(self):
        left = self.deadline - self.clock()
        if left <= 0:
            raise _Timeout
        return left

    def send(self, data):
        self.sock.settimeout(self._remaining())
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise _Timeout from None

    def read_exact(self, size):
        """Return ``size`` bytes, or None at end of stream."""
        while len(self.buffer) < size:
            self.sock.settimeout(self._remaining())
            try:
                chunk = self.sock.recv(max(65536, size - len(self.buffer)))
            except socket.timeout:
                raise _Timeout from None
            if not chunk:
                return None
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _closed_text(http2):
    if http2:
        return "the server closed the connection before the answer ended"
    return "the server closed the connection without answering in HTTP/2"


def _exchange(conn, method_path, request, authority):
    """Send one request on stream 1 and read the answer into ``conn.body``.

    Returns None when the stream ended normally, else the reason reading stopped. Raises
    _Timeout at the deadline and OSError when the connection breaks.
    """
    header_block = request_header_block(method_path, authority)
    conn.send(
        PREFACE
        + encode_frame(FRAME_SETTINGS, 0, 0)
        + encode_frame(FRAME_HEADERS, FLAG_END_HEADERS, STREAM_ID, header_block)
        + encode_frame(FRAME_DATA, FLAG_END_STREAM, STREAM_ID, grpc_frame(request))
    )
    while True:
        header = conn.read_exact(9)
        if header is None:
            return _closed_text(conn.http2)
        length, frame_type, flags, stream_id = decode_frame_header(header)
        if not conn.http2:
            # A server's first frame must be SETTINGS on stream 0 (RFC 9113, section 3.4).
            if header.startswith(b"HTTP/"):
                return "the server answered in HTTP/1.x, not with gRPC over HTTP/2"
            if frame_type != FRAME_SETTINGS or flags & FLAG_ACK or stream_id or length % 6:
                return (
                    "the server did not start with an HTTP/2 SETTINGS frame, so it does not "
                    "speak gRPC over HTTP/2 on this socket"
                )
            conn.http2 = True
        if length > MAX_FRAME_SIZE:
            return f"the server sent a {length}-byte frame, above the HTTP/2 limit"
        payload = conn.read_exact(length)
        if payload is None:
            return "the server closed the connection in the middle of a frame"

        if frame_type == FRAME_SETTINGS:
            if not flags & FLAG_ACK:
                conn.send(encode_frame(FRAME_SETTINGS, FLAG_ACK, 0))
        elif frame_type == FRAME_PING:
            if not flags & FLAG_ACK:
                conn.send(encode_frame(FRAME_PING, FLAG_ACK, 0, payload))
        elif frame_type == FRAME_DATA and stream_id == STREAM_ID:
            if flags & FLAG_PADDED:
                pad = payload[0] if payload else 0
                if not payload or pad > len(payload) - 1:
                    return "the server sent a DATA frame with invalid padding"
                payload = payload[1 : len(payload) - pad]
            conn.body += payload
            if len(conn.body) > MAX_RESPONSE_BYTES:
                return "the response is larger than this client accepts"
            if flags & FLAG_END_STREAM:
                return None
        elif frame_type == FRAME_HEADERS and stream_id == STREAM_ID:
            # Response headers or trailers. Their HPACK block is not decoded: it may use
            # Huffman coding and the dynamic table, which this client does not implement.
            if flags & FLAG_END_STREAM:
                return None
        elif frame_type == FRAME_RST_STREAM and stream_id == STREAM_ID:
            code = int.from_bytes(payload[:4], "big") if len(payload) >= 4 else None
            return f"the server reset the request stream (HTTP/2 error {error_code_text(code)})"
        elif frame_type == FRAME_GOAWAY:
            last_stream = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            code = int.from_bytes(payload[4:8], "big") if len(payload) >= 8 else None
            if code == 0 and last_stream >= STREAM_ID:
                # A graceful shutdown that still lets our stream finish: keep reading.
                continue
            debug = payload[8:].decode("utf-8", errors="replace").strip()
            return (
                f"the server closed the HTTP/2 connection (GOAWAY, error "
                f"{error_code_text(code)}{': ' + debug if debug else ''})"
            )
        # WINDOW_UPDATE, PRIORITY, CONTINUATION, PUSH_PROMISE and frames of other streams
        # need no answer from a client that sends nothing more.


def grpc_unary_call(
    path,
    method_path,
    request=b"",
    timeout=DEFAULT_TIMEOUT,
    authority="localhost",
    clock=time.monotonic,
):
    """Make one gRPC unary call over HTTP/2 cleartext on the unix socket ``path``.

    The whole call (connect, send, read) is bounded by ``timeout`` seconds. The response
    status in the trailers is not decoded: a complete message in the DATA frames counts as
    success, anything else as failure, with a reason in ``GrpcResult.error``.
    """
    deadline = clock() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            return GrpcResult(None, False, f"cannot connect: {connect_error_text(exc, timeout)}")
        conn = _Http2Connection(sock, deadline, clock)
        try:
            reason = _exchange(conn, method_path, request, authority)
        except _Timeout:
            reason = f"no complete answer within {timeout:g} seconds"
        except (ConnectionResetError, BrokenPipeError):
            reason = _closed_text(conn.http2)
        except OSError as exc:
            reason = f"the connection failed: {exc}"
        if conn.http2:
            # Close politely, telling the server no more streams follow; it may be gone.
            try:
                sock.settimeout(0.2)
                sock.sendall(encode_frame(FRAME_GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
            except OSError:
                pass
        message, problem = split_grpc_message(conn.body)
        if message is not None:
            return GrpcResult(message, True, None)
        if reason is None or (conn.body and problem != NO_MESSAGE):
            reason = problem
        return GrpcResult(None, conn.http2, reason)
    finally:
        sock.close()


# --- protobuf (just enough for VersionRequest and VersionResponse) --------------------------

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_FIXED32 = 5

VERSION_RESPONSE_FIELDS = {
    1: "version",
    2: "runtime_name",
    3: "runtime_version",
    4: "runtime_api_version",
}


def encode_varint(value):
    if value < 0:
        raise ValueError("only unsigned varints are supported")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data, pos):
    """Return ``(value, new_pos)`` for the varint at ``pos``; at most 10 bytes long."""
    result = 0
    for index in range(10):
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return result, pos
    raise ProtobufError("varint longer than 10 bytes")


def encode_string_field(number, value):
    data = value.encode("utf-8")
    return encode_varint((number << 3) | WIRE_LEN) + encode_varint(len(data)) + data


def iter_fields(data):
    """Yield ``(field_number, wire_type, value)`` for every field of a protobuf message.

    ``value`` is an int for varints, bytes for the other supported wire types. Groups (wire
    types 3 and 4) and invalid wire types raise ProtobufError.
    """
    data = bytes(data)
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        number, wire_type = key >> 3, key & 0x7
        if number == 0:
            raise ProtobufError("field number 0 is not valid")
        if wire_type == WIRE_VARINT:
            value, pos = decode_varint(data, pos)
        elif wire_type in (WIRE_FIXED64, WIRE_FIXED32):
            size = 8 if wire_type == WIRE_FIXED64 else 4
            if pos + size > len(data):
                raise ProtobufError(f"truncated {size * 8}-bit field {number}")
            value = data[pos : pos + size]
            pos += size
        elif wire_type == WIRE_LEN:
            size, pos = decode_varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError(f"truncated length-delimited field {number}")
            value = data[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {wire_type} for field {number}")
        yield number, wire_type, value


def encode_version_request(version=""):
    """``VersionRequest {string version = 1}``; the empty default encodes to no bytes."""
    return encode_string_field(1, version) if version else b""


def decode_version_response(data):
    """Decode ``VersionResponse`` into a dict of its four string fields ("" when absent).

    Unknown fields are skipped; a known field with a wire type other than length-delimited
    raises ProtobufError.
    """
    result = dict.fromkeys(VERSION_RESPONSE_FIELDS.values(), "")
    for number, wire_type, value in iter_fields(data):
        name = VERSION_RESPONSE_FIELDS.get(number)
        if name is None:
            continue
        if wire_type != WIRE_LEN:
            raise ProtobufError(f"field {number} ({name}) is not a string")
        result[name] = value.decode("utf-8", errors="replace")
    return result


# --- the CRI Version check ------------------------------------------------------------------


def check_cri_version(path, timeout=DEFAULT_TIMEOUT, call=None):
    """Ask the runtime on ``path`` for its version, through CRI v1 and then v1alpha2.

    Returns a dict with ``cri_api`` (``v1``, ``v1alpha2`` or None), ``runtime_name``,
    ``runtime_version``, ``runtime_api_version`` (None when unknown) and ``error`` (None on
    success). v1alpha2 is only tried when the v1 call got an HTTP/2 answer without a message;
    a socket that does not speak HTTP/2 at all is not asked twice.
    """
    call = grpc_unary_call if call is None else call
    result = dict(
        cri_api=None, runtime_name=None, runtime_version=None, runtime_api_version=None, error=None
    )
    errors = []
    for api, method in VERSION_METHODS:
        answer = call(path, method, encode_version_request(), timeout)
        if answer.message is not None:
            try:
                fields = decode_version_response(answer.message)
            except ProtobufError as exc:
                result["error"] = f"the CRI {api} Version answer could not be decoded: {exc}"
                return result
            result.update(
                cri_api=api,
                runtime_name=fields["runtime_name"],
                runtime_version=fields["runtime_version"],
                runtime_api_version=fields["runtime_api_version"],
            )
            return result
        errors.append((api, answer.error))
        if not answer.http2:
            break
    if len(errors) == 1:
        result["error"] = errors[0][1]
    else:
        result["error"] = "; ".join(f"CRI {api}: {error}" for api, error in errors)
    return result


def inspect_endpoint(target, timeout=DEFAULT_TIMEOUT, unit_installed=None, version_check=None):
    """Check one target from expand_endpoints and return its report.

    The report has the keys of the module's ``endpoints`` return value. ``unit_installed``
    (True, False or None for unknown) only shapes the message; ``unit_state`` is left None for
    the caller to fill in.
    """
    version_check = check_cri_version if version_check is None else version_check
    path = target["path"]
    report = dict(
        endpoint=target["endpoint"],
        path=path,
        runtime=target["runtime"],
        exists=False,
        is_socket=False,
        listening=False,
        api_checked=False,
        cri_api=None,
        runtime_name=None,
        runtime_version=None,
        runtime_api_version=None,
        healthy=False,
        unit=target.get("unit"),
        unit_state=None,
        restarted=False,
        message="",
    )
    exists, is_socket, kind, error = inspect_path(path)
    report.update(exists=exists, is_socket=is_socket)
    if is_socket:
        listening, error = check_listening(path, timeout)
        report["listening"] = listening
        if listening:
            answer = version_check(path, timeout)
            report["api_checked"] = True
            error = answer.pop("error")
            report.update(answer)
    report["healthy"] = report["cri_api"] == CRI_V1 and report["runtime"] != DOCKERSHIM
    report["message"] = describe_endpoint(
        report, kind=kind, error=error, unit_installed=unit_installed
    )
    return report


def describe_endpoint(report, kind=None, error=None, unit_installed=None):
    """One or two sentences about an endpoint report, saying what is wrong and what to do.

    ``kind`` is what exists at the path when it is not a socket, ``error`` why the last check
    failed, ``unit_installed`` True, False or None (unknown, for example without systemctl).
    """
    path = report["path"]
    unit = report.get("unit")
    runtime = report["runtime"]
    who = f"{report['runtime_name'] or 'the runtime'} {report['runtime_version'] or ''}".strip()
    if runtime == DOCKERSHIM:
        if not report["exists"]:
            return f"No dockershim socket at {path}; dockershim was removed in Kubernetes 1.24."
        text = (
            f"{path} is a leftover of dockershim, which was removed in Kubernetes 1.24. "
            "dockershim ran inside the kubelet, so there is no service to restart: remove the "
            "socket and the kubelet flags that belonged to it, such as "
            "--container-runtime=docker and --network-plugin, and point the kubelet at a CRI "
            "runtime (containerd, CRI-O, or cri-dockerd for Docker Engine)."
        )
        if report["cri_api"]:
            text += (
                f" It still answers the CRI API ({who}, CRI {report['cri_api']}), so a kubelet "
                "older than 1.24 is running on this host."
            )
        return text
    if error and not report["exists"]:
        return f"{error}: run the check as root (become: true)."
    if not report["exists"]:
        if unit and unit_installed is False:
            return f"Not installed: {path} does not exist and {unit} is not installed."
        if unit and unit_installed:
            return (
                f"{path} does not exist although {unit} is installed: the runtime is stopped or "
                "failed, or it is configured to listen on another path."
            )
        return f"{path} does not exist: no runtime listens there."
    if not report["is_socket"]:
        return (
            f"{path} is a {kind or 'file'}, not a unix socket: no runtime can "
            "listen there until it is removed."
        )
    if not report["listening"]:
        return f"{path} is a unix socket, but {error or 'it refused connections'}."
    if report["cri_api"] == CRI_V1:
        api_version = report["runtime_api_version"]
        extra = f" (runtime API version {api_version})" if api_version else ""
        return f"{who} answers CRI v1{extra} on {path}."
    if report["cri_api"] == CRI_V1ALPHA2:
        return (
            f"{who} on {path} serves only CRI v1alpha2. Kubernetes 1.26 and later kubelets "
            "speak only CRI v1 and cannot use it: upgrade the runtime (containerd 1.6 or later "
            "serves v1)."
        )
    reason = error or "no answer"
    return f"{path} accepts connections but does not answer the CRI API: {reason}."


def answer_summary(report):
    """``endpoint (name version, CRI api)`` for listing live endpoints."""
    name = report["runtime_name"] or report["runtime"]
    version = f" {report['runtime_version']}" if report["runtime_version"] else ""
    return f"{report['endpoint']} ({name}{version}, CRI {report['cri_api']})"


# --- systemd --------------------------------------------------------------------------------


def parse_systemctl_show(text):
    """``Key=Value`` lines of ``systemctl show`` into a dict."""
    props = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def get_unit_state(run, systemctl, unit):
    """Return ``{load_state, active_state, sub_state}`` of a unit, or None when unknown."""
    if not systemctl or not unit:
        return None
    rc, out, _err = run(
        [systemctl, "show", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState", unit]
    )
    if rc != 0:
        return None
    props = parse_systemctl_show(out)
    if not props:
        return None
    return dict(
        load_state=props.get("LoadState"),
        active_state=props.get("ActiveState"),
        sub_state=props.get("SubState"),
    )


def unit_is_installed(state):
    """True when the unit is loaded, False when it is not, None when its state is unknown."""
    if state is None:
        return None
    return state.get("load_state") == "loaded"


def journal_tail(run, journalctl, unit, lines=20):
    """The last ``lines`` journal lines of ``unit`` without metadata; [] without journalctl."""
    if not journalctl or not unit:
        return []
    rc, out, err = run([journalctl, "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"])
    if rc != 0:
        return [f"(journalctl -u {unit} failed with exit code {rc}: {(err or out).strip()})"]
    return (out or "").splitlines()[-lines:]


def restart_units(target):
    """The units to restart, in order, to bring a target's runtime back."""
    units = []
    if target.get("socket_unit"):
        units.append(target["socket_unit"])
    if target.get("unit"):
        units.append(target["unit"])
    return units


def wait_until(check, timeout, clock=time.monotonic, sleep=time.sleep, delay=0.2, max_delay=2.0):
    """Call ``check(remaining)`` until it returns True or ``timeout`` seconds have passed.

    The pause between calls starts at ``delay`` and grows by half each time up to
    ``max_delay``, never sleeping past the deadline. Returns the last result of ``check``.
    """
    deadline = clock() + timeout
    while True:
        done = check(max(deadline - clock(), 0.0))
        remaining = deadline - clock()
        if done or remaining <= 0:
            return done
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay)
