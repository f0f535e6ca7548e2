# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/cri.py.

The gRPC client is tested against real grpcio servers listening on unix sockets, and against
a scripted HTTP/2 peer for the frames a real server rarely sends (padding, PING, RST_STREAM,
GOAWAY). Protobuf and HPACK bytes are built by hand here, independently of the code under test.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import cri

# --- helpers --------------------------------------------------------------------------------


def pb_string(number, text):
    """A length-delimited protobuf field, for short values only (one-byte tag and length)."""
    data = text.encode()
    assert number < 16 and len(data) < 128
    return bytes([(number << 3) | 2, len(data)]) + data


def version_response(name="containerd", version="v1.7.13", api="v1"):
    return pb_string(1, "0.1.0") + pb_string(2, name) + pb_string(3, version) + pb_string(4, api)


def hpack_read_int(block, pos, prefix):
    limit = (1 << prefix) - 1
    value = block[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        byte = block[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def hpack_read_literals(block):
    """Decode a block made only of literal-without-indexing/new-name, non-Huffman fields."""
    headers = []
    pos = 0
    while pos < len(block):
        assert block[pos] == 0x00, f"unexpected representation {block[pos]:#x}"
        pos += 1
        pair = []
        for _ in range(2):
            assert not block[pos] & 0x80, "Huffman bit set"
            size, pos = hpack_read_int(block, pos, 7)
            pair.append(block[pos : pos + size].decode())
            pos += size
        headers.append(tuple(pair))
    return headers


def frame(frame_type, flags, stream_id, payload=b""):
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([frame_type, flags])
        + (struct.pack(">I", stream_id) + payload)
    )


def read_frames(data):
    """``[(type, flags, stream, payload)]`` of a byte string of whole frames."""
    frames = []
    pos = 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos : pos + 3], "big")
        frames.append(
            (
                data[pos + 3],
                data[pos + 4],
                int.from_bytes(data[pos + 5 : pos + 9], "big"),
                bytes(data[pos + 9 : pos + 9 + length]),
            )
        )
        pos += 9 + length
    return frames


@pytest.fixture
def sockdir():
    """A short directory: unix socket paths may not exceed 107 bytes."""
    path = tempfile.mkdtemp(prefix="cri", dir="/tmp")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


class CriServer:
    """A real gRPC server answering Version for the given CRI API versions with raw bytes."""

    def __init__(self, path, apis=("v1",), response=None, extra_methods=None):
        self.requests = []
        self.response = version_response() if response is None else response
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
        handlers = [
            grpc.method_handlers_generic_handler(
                f"runtime.{api}.RuntimeService",
                {
                    "Version": grpc.unary_unary_rpc_method_handler(
                        self._version, request_deserializer=None, response_serializer=None
                    ),
                    **(extra_methods or {}),
                },
            )
            for api in apis
        ]
        self.server.add_generic_rpc_handlers(handlers)
        self.server.add_insecure_port("unix:" + str(path))
        self.server.start()

    def _version(self, request, context):
        self.requests.append(request)
        return self.response

    def stop(self):
        self.server.stop(None).wait(5)


@pytest.fixture
def servers():
    started = []

    def start(*args, **kwargs):
        server = CriServer(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class RawListener:
    """A unix socket that accepts connections and then stays silent, closes, or says a line."""

    def __init__(self, path, mode="silent", reply=b""):
        self.mode = mode
        self.reply = reply
        self.conns = []
        self.stopped = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.mode == "close":
                conn.close()
                continue
            if self.mode == "reply":
                conn.recv(65536)
                conn.sendall(self.reply)
            self.conns.append(conn)

    def stop(self):
        self.stopped.set()
        self.thread.join(2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def listeners():
    started = []

    def start(*args, **kwargs):
        listener = RawListener(*args, **kwargs)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()


class ScriptedPeer:
    """One HTTP/2 'server' connection: waits for the whole request, sends fixed frames,
    then records everything the client sends until it closes the connection."""

    def __init__(self, path, frames, close=False):
        self.frames = frames
        self.close = close
        self.received = bytearray()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.sock.settimeout(5)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _request_complete(self):
        if len(self.received) < len(cri.PREFACE):
            return False
        frames = read_frames(self.received[len(cri.PREFACE) :])
        return any(t == cri.FRAME_DATA and f & cri.FLAG_END_STREAM for t, f, _s, _p in frames)

    def _serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(5)
        with conn:
            while not self._request_complete():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.received += chunk
            conn.sendall(b"".join(self.frames))
            if self.close:
                # end of stream for the client, while what it still sends is read below
                conn.shutdown(socket.SHUT_WR)
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    self.received += chunk
            except OSError:
                pass

    def client_frames(self):
        self.thread.join(5)
        self.sock.close()
        assert bytes(self.received[: len(cri.PREFACE)]) == cri.PREFACE
        return read_frames(self.received[len(cri.PREFACE) :])


SERVER_SETTINGS = frame(cri.FRAME_SETTINGS, 0, 0, struct.pack(">HI", 0x3, 100))


# --- endpoint parsing and discovery ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock"),
        ("unix:/run/crio/crio.sock", "/run/crio/crio.sock"),
        ("/run/cri-dockerd.sock", "/run/cri-dockerd.sock"),
        ("  /var/run//dockershim.sock ", "/var/run/dockershim.sock"),
        ("unix:///run/x/../containerd/containerd.sock", "/run/containerd/containerd.sock"),
    ],
)
def test_parse_endpoint_accepts_unix_forms(text, path):
    assert cri.parse_endpoint(text) == path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("unix://run/containerd/containerd.sock", "write three slashes"),
        ("unix:run/x.sock", "write three slashes"),
        ("tcp://127.0.0.1:10010", "uses tcp://"),
        ("npipe:////./pipe/containerd-containerd", "uses npipe://"),
        ("run/containerd/containerd.sock", "neither 'auto'"),
        ("", "non-empty"),
        ("   ", "non-empty"),
    ],
)
def test_parse_endpoint_rejects_other_forms(text, fragment):
    with pytest.raises(cri.CriError, match=fragment):
        cri.parse_endpoint(text)


def test_known_endpoint_table():
    assert [(e.runtime, e.path, e.unit, e.socket_unit) for e in cri.KNOWN_ENDPOINTS] == [
        ("containerd", "/run/containerd/containerd.sock", "containerd.service", None),
        ("crio", "/run/crio/crio.sock", "crio.service", None),
        ("cri-dockerd", "/run/cri-dockerd.sock", "cri-docker.service", "cri-docker.socket"),
        ("dockershim", "/var/run/dockershim.sock", None, None),
    ]


def make_table(base):
    run = base / "run"
    (run / "containerd").mkdir(parents=True)
    (run / "crio").mkdir()
    (base / "var").mkdir()
    (base / "var" / "run").symlink_to(run)
    return (
        cri.KnownEndpoint(
            "containerd", str(run / "containerd" / "containerd.sock"), "containerd.service", None
        ),
        cri.KnownEndpoint("crio", str(run / "crio" / "crio.sock"), "crio.service", None),
        cri.KnownEndpoint(
            "cri-dockerd", str(run / "cri-dockerd.sock"), "cri-docker.service", "cri-docker.socket"
        ),
        cri.KnownEndpoint("dockershim", str(base / "var" / "run" / "dockershim.sock"), None, None),
    )


def test_expand_auto_in_table_order(tmp_path):
    table = make_table(tmp_path)
    targets = cri.expand_endpoints(["auto"], table)
    assert [t["runtime"] for t in targets] == ["containerd", "crio", "cri-dockerd", "dockershim"]
    assert [t["endpoint"] for t in targets] == ["unix://" + e.path for e in table]
    assert [t["unit"] for t in targets] == [e.unit for e in table]
    assert targets[2]["socket_unit"] == "cri-docker.socket"
    assert not any(t["explicit"] for t in targets)


def test_expand_dedups_by_real_path_and_keeps_explicit(tmp_path):
    table = make_table(tmp_path)
    via_link = f"unix://{tmp_path}/var/run/containerd/containerd.sock"
    targets = cri.expand_endpoints(
        ["auto", via_link, str(tmp_path / "run" / "dockershim.sock")], table
    )
    assert len(targets) == 4
    # the auto entry keeps its place and its string, and becomes explicit
    assert targets[0]["endpoint"] == "unix://" + table[0].path
    assert targets[0]["explicit"] is True
    assert [t["explicit"] for t in targets[1:]] == [False, False, True]
    assert targets[3]["runtime"] == "dockershim"

    first = cri.expand_endpoints([via_link, "auto"], table)
    assert [t["endpoint"] for t in first] == [via_link] + ["unix://" + e.path for e in table[1:]]
    assert first[0]["runtime"] == "containerd"
    assert first[0]["unit"] == "containerd.service"
    assert first[0]["path"] == f"{tmp_path}/var/run/containerd/containerd.sock"


def test_expand_unknown_explicit_endpoint(tmp_path):
    targets = cri.expand_endpoints([str(tmp_path / "k3s.sock")], make_table(tmp_path))
    assert targets == [
        dict(
            endpoint=str(tmp_path / "k3s.sock"),
            path=str(tmp_path / "k3s.sock"),
            runtime="unknown",
            unit=None,
            socket_unit=None,
            explicit=True,
        )
    ]


def test_expand_refuses_empty_and_bad_entries():
    with pytest.raises(cri.CriError, match="endpoints is empty"):
        cri.expand_endpoints([])
    with pytest.raises(cri.CriError, match="uses tcp://"):
        cri.expand_endpoints(["auto", "tcp://localhost:1"])


# --- HPACK ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "prefix", "encoded"),
    [
        (10, 5, b"\x0a"),  # RFC 7541 C.1.1
        (1337, 5, b"\x1f\x9a\x0a"),  # RFC 7541 C.1.2
        (42, 8, b"\x2a"),  # RFC 7541 C.1.3
        (126, 7, b"\x7e"),
        (127, 7, b"\x7f\x00"),
        (128, 7, b"\x7f\x01"),
        (300, 7, b"\x7f\xad\x01"),
        (16384, 7, b"\x7f\x81\x7f"),
    ],
)
def test_hpack_integer_vectors(value, prefix, encoded):
    assert cri.hpack_integer(value, prefix) == encoded


@given(st.integers(min_value=0, max_value=2**32))
def test_hpack_integer_round_trip(value):
    encoded = cri.hpack_integer(value, 7)
    assert hpack_read_int(encoded, 0, 7) == (value, len(encoded))
    assert not encoded[0] & 0x80


def test_hpack_literal_with_long_value():
    value = "x" * 200
    encoded = cri.hpack_literal(":path", value)
    # 0x00, name length 5, name, then 127 + 73 as 0x7f 0x49, then the 200 bytes
    assert encoded == b"\x00\x05:path\x7f\x49" + value.encode()
    assert hpack_read_literals(encoded) == [(":path", value)]


def test_request_header_block_holds_the_grpc_headers_in_order():
    block = cri.request_header_block("/runtime.v1.RuntimeService/Version")
    assert hpack_read_literals(block) == [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/runtime.v1.RuntimeService/Version"),
        (":authority", "localhost"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]


def test_long_path_is_understood_by_a_real_grpc_server(sockdir, servers):
    long_method = "Version" + "X" * 180
    path = f"/runtime.v1.RuntimeService/{long_method}"
    assert len(path) > 200
    seen = []

    def handler(request, context):
        seen.append(request)
        return b"\x0a\x03yes"

    servers(
        sockdir / "x.sock",
        extra_methods={
            long_method: grpc.unary_unary_rpc_method_handler(
                handler, request_deserializer=None, response_serializer=None
            )
        },
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), path, b"\x0a\x02hi", timeout=5)
    assert result == cri.GrpcResult(b"\x0a\x03yes", True, None)
    assert seen == [b"\x0a\x02hi"]


# --- protobuf -------------------------------------------------------------------------------


def test_decode_version_response_skips_unknown_fields_of_every_wire_type():
    data = (
        b"\x28\xac\x02"  # field 5, varint 300
        + pb_string(2, "containerd")
        + b"\x31"
        + b"\x01\x02\x03\x04\x05\x06\x07\x08"  # field 6, 64-bit
        + b"\x0a\x050.1.0"  # field 1
        + b"\x3a\x03abc"  # field 7, length-delimited
        + b"\x1a\x07v1.6.20"  # field 3
        + b"\x45\xff\xff\xff\xff"  # field 8, 32-bit
        + b"\x22\x02v1"  # field 4
        + b"\x80\x01\x01"  # field 16 (two-byte tag), varint 1
        + b"\x1a\x07v1.7.13"  # field 3 again: the last one wins
    )
    assert cri.decode_version_response(data) == {
        "version": "0.1.0",
        "runtime_name": "containerd",
        "runtime_version": "v1.7.13",
        "runtime_api_version": "v1",
    }
    assert [(n, w) for n, w, _v in cri.iter_fields(data)] == [
        (5, 0),
        (2, 2),
        (6, 1),
        (1, 2),
        (7, 2),
        (3, 2),
        (8, 5),
        (4, 2),
        (16, 0),
        (3, 2),
    ]
    values = [v for _n, _w, v in cri.iter_fields(data)]
    assert values[0] == 300
    assert values[2] == b"\x01\x02\x03\x04\x05\x06\x07\x08"
    assert values[6] == b"\xff\xff\xff\xff"


def test_decode_version_response_of_empty_message():
    assert cri.decode_version_response(b"") == {
        "version": "",
        "runtime_name": "",
        "runtime_version": "",
        "runtime_api_version": "",
    }


def test_decode_keeps_invalid_utf8_readable():
    assert cri.decode_version_response(b"\x12\x02\xffA")["runtime_name"] == "\ufffdA"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x08", "truncated varint"),
        (b"\x08\xff", "truncated varint"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (b"\x12\x05abc", "truncated length-delimited field 2"),
        (b"\x31\x01\x02", "truncated 64-bit field 6"),
        (b"\x45\x01", "truncated 32-bit field 8"),
        (b"\x2b\x2c", "unsupported wire type 3"),
        (b"\x0e", "unsupported wire type 6"),
        (b"\x02\x00", "field number 0"),
        (b"\x10\x01", "field 2 \\(runtime_name\\) is not a string"),
    ],
)
def test_decode_rejects_broken_messages(data, fragment):
    with pytest.raises(cri.ProtobufError, match=fragment):
        cri.decode_version_response(data)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_round_trip(value):
    encoded = cri.encode_varint(value)
    assert cri.decode_varint(encoded + b"\x00", 0) == (value, len(encoded))


def test_encode_version_request():
    assert cri.encode_version_request() == b""
    assert cri.encode_version_request("v1") == b"\x0a\x02v1"
    assert cri.encode_string_field(4, "a" * 130) == b"\x22\x82\x01" + b"a" * 130


# --- HTTP/2 and gRPC framing ----------------------------------------------------------------


def test_encode_frame_layout():
    assert cri.encode_frame(cri.FRAME_DATA, cri.FLAG_END_STREAM, 1, b"abc") == (
        b"\x00\x00\x03\x00\x01\x00\x00\x00\x01abc"
    )
    assert cri.encode_frame(cri.FRAME_SETTINGS, cri.FLAG_ACK, 0) == b"\x00\x00\x00\x04\x01" + (
        b"\x00" * 4
    )
    header = cri.encode_frame(cri.FRAME_HEADERS, 4, 0x7FFFFFFF, b"x" * 70000)[:9]
    assert cri.decode_frame_header(header) == (70000, cri.FRAME_HEADERS, 4, 0x7FFFFFFF)


def test_grpc_message_framing():
    assert cri.grpc_frame(b"") == b"\x00\x00\x00\x00\x00"
    assert cri.grpc_frame(b"abc") == b"\x00\x00\x00\x00\x03abc"
    assert cri.split_grpc_message(b"\x00\x00\x00\x00\x03abcdef") == (b"abc", None)
    assert cri.split_grpc_message(b"\x00\x00\x00\x00\x00") == (b"", None)
    assert cri.split_grpc_message(b"") == (None, cri.NO_MESSAGE)
    assert "prefix" in cri.split_grpc_message(b"\x00\x00")[1]
    assert "2 of 3 bytes" in cri.split_grpc_message(b"\x00\x00\x00\x00\x03ab")[1]
    assert "compressed" in cri.split_grpc_message(b"\x01\x00\x00\x00\x01a")[1]


# --- the client against real gRPC servers ---------------------------------------------------


def test_v1_server_is_healthy_with_decoded_version(sockdir, servers):
    server = servers(sockdir / "x.sock", response=version_response("containerd", "v1.7.13"))
    target = cri.expand_endpoints([f"unix://{sockdir}/x.sock"])[0]
    report = cri.inspect_endpoint(target, timeout=5)
    assert report == dict(
        endpoint=f"unix://{sockdir}/x.sock",
        path=f"{sockdir}/x.sock",
        runtime="unknown",
        exists=True,
        is_socket=True,
        listening=True,
        api_checked=True,
        cri_api="v1",
        runtime_name="containerd",
        runtime_version="v1.7.13",
        runtime_api_version="v1",
        healthy=True,
        unit=None,
        unit_state=None,
        restarted=False,
        message=f"containerd v1.7.13 answers CRI v1 (runtime API version v1) on {sockdir}/x.sock.",
    )
    # an empty VersionRequest was sent
    assert server.requests == [b""]


def test_v1alpha2_only_server_is_not_healthy(sockdir, servers):
    server = servers(
        sockdir / "x.sock",
        apis=("v1alpha2",),
        response=version_response("containerd", "v1.5.18", "v1alpha2"),
    )
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 5)
    assert report["cri_api"] == "v1alpha2"
    assert report["runtime_version"] == "v1.5.18"
    assert report["runtime_api_version"] == "v1alpha2"
    assert report["healthy"] is False
    assert "serves only CRI v1alpha2" in report["message"]
    assert "Kubernetes 1.26 and later" in report["message"]
    assert "containerd 1.6 or later" in report["message"]
    assert server.requests == [b""]


def test_server_with_both_apis_answers_v1(sockdir, servers):
    servers(sockdir / "x.sock", apis=("v1alpha2", "v1"))
    assert cri.check_cri_version(str(sockdir / "x.sock"), 5)["cri_api"] == "v1"


def test_server_without_the_runtime_service(sockdir, servers):
    servers(sockdir / "x.sock", apis=("v9",))
    answer = cri.check_cri_version(str(sockdir / "x.sock"), 5)
    assert answer["cri_api"] is None
    assert answer["error"] == (f"CRI v1: {cri.NO_MESSAGE}; CRI v1alpha2: {cri.NO_MESSAGE}")


def test_unparsable_version_answer(sockdir, servers):
    servers(sockdir / "x.sock", response=b"\x12\x09short")
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 5)
    assert report["cri_api"] is None
    assert report["healthy"] is False
    assert "the CRI v1 Version answer could not be decoded" in report["message"]


# --- the client against sockets that are not gRPC servers -----------------------------------


def test_silent_socket_times_out(sockdir, listeners):
    listeners(sockdir / "x.sock", mode="silent")
    start = time.monotonic()
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 0.5)
    elapsed = time.monotonic() - start
    assert report["listening"] is True
    assert report["api_checked"] is True
    assert report["cri_api"] is None
    assert report["healthy"] is False
    assert (
        "does not answer the CRI API: no complete answer within 0.5 seconds" in (report["message"])
    )
    # one call only: a socket that never spoke HTTP/2 is not asked for v1alpha2
    assert 0.45 < elapsed < 1.2


def test_socket_that_closes_at_once(sockdir, listeners):
    listeners(sockdir / "x.sock", mode="close")
    start = time.monotonic()
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 5)
    assert time.monotonic() - start < 2
    assert report["listening"] is True
    assert report["cri_api"] is None
    assert ("the server closed the connection without answering in HTTP/2") in report["message"]


def test_http1_server_is_recognised(sockdir, listeners):
    listeners(
        sockdir / "x.sock",
        mode="reply",
        reply=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", b"", 5)
    assert result == cri.GrpcResult(
        None, False, "the server answered in HTTP/1.x, not with gRPC over HTTP/2"
    )


def test_non_http2_bytes_are_recognised(sockdir, listeners):
    listeners(sockdir / "x.sock", mode="reply", reply=b"\x00\x00\x10\x01\x00\x00\x00\x00\x01")
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", b"", 5)
    assert result.message is None
    assert "did not start with an HTTP/2 SETTINGS frame" in result.error


def test_stale_socket_is_not_listening(sockdir):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sockdir / "x.sock"))
    stale.close()
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 1)
    assert (report["exists"], report["is_socket"], report["listening"]) == (True, True, False)
    assert report["api_checked"] is False
    assert "connection refused" in report["message"]
    assert "stale socket" in report["message"]


def test_regular_file_is_not_a_socket(sockdir):
    (sockdir / "x.sock").write_text("")
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 1)
    assert (report["exists"], report["is_socket"], report["listening"]) == (True, False, False)
    assert report["message"] == (
        f"{sockdir}/x.sock is a regular file, not a unix socket: no runtime can listen there "
        "until it is removed."
    )


def test_directory_is_not_a_socket(sockdir):
    (sockdir / "x.sock").mkdir()
    report = cri.inspect_endpoint(cri.expand_endpoints([str(sockdir / "x.sock")])[0], 1)
    assert report["is_socket"] is False
    assert "is a directory, not a unix socket" in report["message"]


def test_missing_path(sockdir):
    target = cri.expand_endpoints([str(sockdir / "nope" / "x.sock")])[0]
    report = cri.inspect_endpoint(target, 1)
    assert (report["exists"], report["is_socket"], report["listening"]) == (False, False, False)
    assert report["api_checked"] is False
    assert report["message"] == f"{sockdir}/nope/x.sock does not exist: no runtime listens there."


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        (False, "Not installed: {path} does not exist and containerd.service is not installed."),
        (True, "{path} does not exist although containerd.service is installed"),
        (None, "{path} does not exist: no runtime listens there."),
    ],
)
def test_missing_known_socket_message_depends_on_the_unit(tmp_path, installed, expected):
    table = make_table(tmp_path)
    target = cri.expand_endpoints(["auto"], table)[0]
    report = cri.inspect_endpoint(target, 1, unit_installed=installed)
    assert report["message"].startswith(expected.format(path=table[0].path))


def test_dockershim_leftover_is_never_healthy(tmp_path, sockdir, servers):
    table = make_table(tmp_path)
    target = cri.expand_endpoints(["auto"], table)[3]
    missing = cri.inspect_endpoint(target, 1)
    assert missing["message"] == (
        f"No dockershim socket at {table[3].path}; dockershim was removed in Kubernetes 1.24."
    )
    target = dict(target, path=str(sockdir / "dockershim.sock"))
    servers(sockdir / "dockershim.sock", response=version_response("docker", "20.10.7", "v1"))
    report = cri.inspect_endpoint(target, 5)
    assert report["cri_api"] == "v1"
    assert report["healthy"] is False
    message = report["message"]
    assert "leftover of dockershim, which was removed in Kubernetes 1.24" in message
    assert "--container-runtime=docker" in message
    assert "--network-plugin" in message
    assert "a kubelet older than 1.24 is running" in message


# --- scripted HTTP/2 peer -------------------------------------------------------------------


def test_padding_ping_settings_and_split_data(sockdir):
    message = version_response("cri-o", "1.28.1")
    body = cri.grpc_frame(message)
    first, rest = body[:7], body[7:]
    peer = ScriptedPeer(
        sockdir / "x.sock",
        [
            SERVER_SETTINGS,
            frame(8, 0, 0, struct.pack(">I", 1 << 20)),  # WINDOW_UPDATE
            frame(cri.FRAME_PING, 0, 0, b"pingpong"),
            frame(cri.FRAME_SETTINGS, cri.FLAG_ACK, 0),
            frame(cri.FRAME_HEADERS, cri.FLAG_END_HEADERS, 1, b"\x88"),  # :status 200, indexed
            frame(cri.FRAME_DATA, 0, 3, b"other stream"),
            frame(cri.FRAME_DATA, cri.FLAG_PADDED, 1, b"\x04" + first + b"\x00" * 4),
            frame(cri.FRAME_DATA, cri.FLAG_PADDED, 1, b"\x00" + rest),
            frame(cri.FRAME_HEADERS, cri.FLAG_END_HEADERS | cri.FLAG_END_STREAM, 1, b"\xbe\xbf"),
        ],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/runtime.v1.RuntimeService/Version")
    assert result == cri.GrpcResult(message, True, None)
    sent = peer.client_frames()
    kinds = [(t, f, s) for t, f, s, _p in sent]
    assert kinds == [
        (cri.FRAME_SETTINGS, 0, 0),
        (cri.FRAME_HEADERS, cri.FLAG_END_HEADERS, 1),
        (cri.FRAME_DATA, cri.FLAG_END_STREAM, 1),
        (cri.FRAME_SETTINGS, cri.FLAG_ACK, 0),
        (cri.FRAME_PING, cri.FLAG_ACK, 0),
        (cri.FRAME_GOAWAY, 0, 0),
    ]
    assert sent[0][3] == b""
    assert hpack_read_literals(sent[1][3])[2] == (":path", "/runtime.v1.RuntimeService/Version")
    assert sent[2][3] == b"\x00\x00\x00\x00\x00"
    assert sent[4][3] == b"pingpong"


def test_end_stream_on_data_frame_ends_the_call(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [SERVER_SETTINGS, frame(cri.FRAME_DATA, cri.FLAG_END_STREAM, 1, cri.grpc_frame(b""))],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result == cri.GrpcResult(b"", True, None)


def test_trailers_only_answer_means_no_message(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [SERVER_SETTINGS, frame(cri.FRAME_HEADERS, 0x5, 1, b"\x00\x0bgrpc-status\x0212")],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result == cri.GrpcResult(None, True, cri.NO_MESSAGE)


def test_rst_stream_is_reported(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [SERVER_SETTINGS, frame(cri.FRAME_RST_STREAM, 0, 1, struct.pack(">I", 7))],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result == cri.GrpcResult(
        None, True, "the server reset the request stream (HTTP/2 error 7 REFUSED_STREAM)"
    )


def test_goaway_with_error_is_reported(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [
            SERVER_SETTINGS,
            frame(cri.FRAME_GOAWAY, 0, 0, struct.pack(">II", 0, 11) + b"too_many_pings"),
        ],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result.error == (
        "the server closed the HTTP/2 connection (GOAWAY, error 11 ENHANCE_YOUR_CALM: "
        "too_many_pings)"
    )


def test_graceful_goaway_still_lets_the_answer_arrive(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [
            SERVER_SETTINGS,
            frame(cri.FRAME_GOAWAY, 0, 0, struct.pack(">II", 1, 0)),
            frame(cri.FRAME_DATA, 0, 1, cri.grpc_frame(b"\x12\x01a")),
            frame(cri.FRAME_HEADERS, 0x5, 1, b"\xbe"),
        ],
    )
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result == cri.GrpcResult(b"\x12\x01a", True, None)


def test_message_cut_off_by_end_of_connection(sockdir):
    ScriptedPeer(
        sockdir / "x.sock",
        [SERVER_SETTINGS, frame(cri.FRAME_DATA, 0, 1, b"\x00\x00\x00\x00\x09abc")],
        close=True,
    )
    start = time.monotonic()
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert time.monotonic() - start < 2
    assert result == cri.GrpcResult(
        None, True, "the response message was cut off (3 of 9 bytes received)"
    )


def test_server_that_stops_after_settings_times_out(sockdir):
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.bind(str(sockdir / "x.sock"))
    peer.listen(1)
    holder = []

    def serve():
        conn, _ = peer.accept()
        conn.sendall(SERVER_SETTINGS)
        holder.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    start = time.monotonic()
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=0.5)
    assert 0.45 < time.monotonic() - start < 1.2
    assert result == cri.GrpcResult(None, True, "no complete answer within 0.5 seconds")
    thread.join(2)
    for conn in holder:
        conn.close()
    peer.close()


def test_connection_closed_after_settings(sockdir):
    ScriptedPeer(sockdir / "x.sock", [SERVER_SETTINGS], close=True)
    result = cri.grpc_unary_call(str(sockdir / "x.sock"), "/a/b", timeout=5)
    assert result == cri.GrpcResult(
        None, True, "the server closed the connection before the answer ended"
    )


def test_unconnectable_paths(sockdir):
    result = cri.grpc_unary_call(str(sockdir / "missing.sock"), "/a/b", timeout=1)
    assert result == cri.GrpcResult(
        None, False, "cannot connect: the socket disappeared while it was being checked"
    )


# --- the Version check flow -----------------------------------------------------------------


class FakeCall:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.methods = []

    def __call__(self, path, method, request, timeout):
        self.methods.append(method)
        assert request == b""
        return self.answers.pop(0)


def test_check_cri_version_falls_back_only_for_http2_answers():
    call = FakeCall(
        cri.GrpcResult(None, True, "no"), cri.GrpcResult(version_response(), True, None)
    )
    answer = cri.check_cri_version("/x", 1, call=call)
    assert answer["cri_api"] == "v1alpha2"
    assert call.methods == [
        "/runtime.v1.RuntimeService/Version",
        "/runtime.v1alpha2.RuntimeService/Version",
    ]

    call = FakeCall(cri.GrpcResult(None, False, "not http/2"))
    answer = cri.check_cri_version("/x", 1, call=call)
    assert answer == dict(
        cri_api=None,
        runtime_name=None,
        runtime_version=None,
        runtime_api_version=None,
        error="not http/2",
    )
    assert call.methods == ["/runtime.v1.RuntimeService/Version"]


def test_answer_summary():
    report = dict(
        endpoint="unix:///run/crio/crio.sock",
        runtime="crio",
        runtime_name="cri-o",
        runtime_version="1.28.1",
        cri_api="v1",
    )
    assert cri.answer_summary(report) == "unix:///run/crio/crio.sock (cri-o 1.28.1, CRI v1)"


# --- systemd helpers ------------------------------------------------------------------------


class FakeRun:
    def __init__(self, rc=0, out="", err=""):
        self.result = (rc, out, err)
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.result


def test_get_unit_state():
    run = FakeRun(out="LoadState=loaded\nActiveState=failed\nSubState=failed\n")
    assert cri.get_unit_state(run, "/bin/systemctl", "crio.service") == dict(
        load_state="loaded", active_state="failed", sub_state="failed"
    )
    assert run.calls == [
        [
            "/bin/systemctl",
            "show",
            "-p",
            "LoadState",
            "-p",
            "ActiveState",
            "-p",
            "SubState",
            "crio.service",
        ]
    ]
    assert cri.unit_is_installed(cri.get_unit_state(run, "/bin/systemctl", "x")) is True
    assert cri.get_unit_state(FakeRun(rc=1), "/bin/systemctl", "x") is None
    assert cri.get_unit_state(run, None, "x") is None
    assert cri.get_unit_state(run, "/bin/systemctl", None) is None
    not_found = FakeRun(out="LoadState=not-found\nActiveState=inactive\nSubState=dead\n")
    assert cri.unit_is_installed(cri.get_unit_state(not_found, "/bin/systemctl", "x")) is False
    assert cri.unit_is_installed(None) is None


def test_journal_tail():
    run = FakeRun(out="".join(f"line {n}\n" for n in range(25)))
    assert cri.journal_tail(run, "/bin/journalctl", "containerd.service") == [
        f"line {n}" for n in range(5, 25)
    ]
    assert run.calls == [
        ["/bin/journalctl", "-u", "containerd.service", "-n", "20", "--no-pager", "-o", "cat"]
    ]
    assert cri.journal_tail(run, None, "containerd.service") == []
    assert cri.journal_tail(run, "/bin/journalctl", None) == []
    failed = cri.journal_tail(FakeRun(rc=1, err="No journal files were found.\n"), "/j", "u")
    assert failed == ["(journalctl -u u failed with exit code 1: No journal files were found.)"]


def test_restart_units_order():
    targets = cri.expand_endpoints(["auto"])
    assert [cri.restart_units(t) for t in targets] == [
        ["containerd.service"],
        ["crio.service"],
        ["cri-docker.socket", "cri-docker.service"],
        [],
    ]


def test_wait_until_grows_the_delay_and_stops_at_the_deadline():
    now = [100.0]
    sleeps = []
    remaining_seen = []

    def sleep(seconds):
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    def check(remaining):
        remaining_seen.append(round(remaining, 6))
        return False

    assert cri.wait_until(check, 3, clock=lambda: now[0], sleep=sleep) is False
    assert sleeps == [0.2, 0.3, 0.45, 0.675, 1.0125, 0.3625]
    assert sum(sleeps) == pytest.approx(3)
    assert remaining_seen[0] == 3
    assert remaining_seen[-1] == 0


def test_wait_until_returns_as_soon_as_done():
    calls = []

    def check(remaining):
        calls.append(remaining)
        return len(calls) == 2

    assert cri.wait_until(check, 60, sleep=lambda s: None) is True
    assert len(calls) == 2


def test_wait_until_with_zero_timeout_checks_once():
    calls = []
    assert cri.wait_until(lambda r: calls.append(r) or False, 0, sleep=pytest.fail) is False
    assert calls == [0.0]
