# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real main() of prodgrade.kubernetes.cri_socket against real gRPC servers.

The well-known endpoint table is pointed at a short temporary directory. systemd is either
faked inside the test process (so that a "restart" can start a real gRPC server) or replaced
by small shell scripts that the module runs as commands.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import grpc
import pytest
from ansible.module_utils import basic
from module_runner import run_module, warning_texts

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import cri
from ansible_collections.prodgrade.kubernetes.plugins.modules import cri_socket

# The node fixture fakes run_command; the test with real scripts puts this one back.
REAL_RUN_COMMAND = basic.AnsibleModule.run_command


def pb_string(number, text):
    data = text.encode()
    return bytes([(number << 3) | 2, len(data)]) + data


def version_response(name, version, api="v1"):
    return pb_string(1, "0.1.0") + pb_string(2, name) + pb_string(3, version) + pb_string(4, api)


RESPONSES = {
    "containerd": ("containerd", "v1.7.13"),
    "crio": ("cri-o", "1.28.1"),
    "cri-dockerd": ("docker", "24.0.7"),
    "dockershim": ("docker", "20.10.7"),
}


def start_grpc(path, response, apis=("v1",)):
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                f"runtime.{api}.RuntimeService",
                {
                    "Version": grpc.unary_unary_rpc_method_handler(
                        lambda request, context: response,
                        request_deserializer=None,
                        response_serializer=None,
                    )
                },
            )
            for api in apis
        ]
    )
    server.add_insecure_port("unix:" + str(path))
    server.start()
    return server


def stale_socket(path):
    """A socket file nobody listens on, as a crashed runtime leaves it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


class Node:
    """A fake node: the endpoint table under a temporary directory and an in-process systemd.

    ``units`` maps installed units to ``(ActiveState, SubState)``; ``on_restart`` maps a unit
    to what its restart does.
    """

    def __init__(self, base, monkeypatch):
        self.base = base
        run = base / "run"
        (run / "containerd").mkdir(parents=True)
        (run / "crio").mkdir()
        (base / "var").mkdir()
        (base / "var" / "run").symlink_to(run)
        self.table = (
            cri.KnownEndpoint(
                "containerd",
                str(run / "containerd" / "containerd.sock"),
                "containerd.service",
                None,
            ),
            cri.KnownEndpoint("crio", str(run / "crio" / "crio.sock"), "crio.service", None),
            cri.KnownEndpoint(
                "cri-dockerd",
                str(run / "cri-dockerd.sock"),
                "cri-docker.service",
                "cri-docker.socket",
            ),
            cri.KnownEndpoint(
                "dockershim", str(base / "var" / "run" / "dockershim.sock"), None, None
            ),
        )
        self.paths = {entry.runtime: entry.path for entry in self.table}
        self.units = {}
        self.on_restart = {}
        self.restart_failure = {}
        self.journals = {}
        self.calls = []
        self.servers = []
        self.timers = []
        self.tools = {"systemctl": "/fake/bin/systemctl", "journalctl": "/fake/bin/journalctl"}
        monkeypatch.setattr(cri_socket, "AUTO_ENDPOINTS", self.table)
        monkeypatch.setattr(cri_socket, "find_command", lambda module, name: self.tools.get(name))

        def run_command(module, args, **kwargs):
            return self.run(list(args))

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)

    def url(self, runtime):
        return "unix://" + self.paths[runtime]

    def serve(self, runtime, apis=("v1",), delay=0.0):
        """Start a real gRPC server on a runtime's socket, now or after ``delay`` seconds."""
        name, version = RESPONSES[runtime]
        response = version_response(name, version, apis[0])

        def start():
            self.servers.append(start_grpc(self.paths[runtime], response, apis))

        if delay:
            timer = threading.Timer(delay, start)
            self.timers.append(timer)
            timer.start()
        else:
            start()

    def install(self, unit, active="active", sub="running"):
        self.units[unit] = (active, sub)

    def run(self, argv):
        self.calls.append(argv)
        if argv[0] == self.tools.get("systemctl") and argv[1] == "show":
            unit = argv[-1]
            if unit in self.units:
                active, sub = self.units[unit]
                return 0, f"LoadState=loaded\nActiveState={active}\nSubState={sub}\n", ""
            return 0, "LoadState=not-found\nActiveState=inactive\nSubState=dead\n", ""
        if argv[0] == self.tools.get("systemctl") and argv[1] == "restart":
            unit = argv[2]
            if unit in self.restart_failure:
                return self.restart_failure[unit], "", f"Job for {unit} failed.\n"
            self.units[unit] = ("active", "running")
            action = self.on_restart.get(unit)
            if action:
                action()
            return 0, "", ""
        if argv[0] == self.tools.get("journalctl"):
            return 0, "".join(f"{line}\n" for line in self.journals.get(argv[2], [])), ""
        raise AssertionError(f"unexpected command {argv}")

    @property
    def restarts(self):
        return [argv[2] for argv in self.calls if argv[1:2] == ["restart"]]

    def cleanup(self):
        for timer in self.timers:
            timer.cancel()
            timer.join()
        for server in self.servers:
            server.stop(None).wait(5)


@pytest.fixture
def node(monkeypatch):
    # unix socket paths may not exceed 107 bytes, so stay out of pytest's long tmp_path
    base = Path(tempfile.mkdtemp(prefix="cri", dir="/tmp"))
    fake = Node(base, monkeypatch)
    yield fake
    fake.cleanup()
    shutil.rmtree(base, ignore_errors=True)


def run(args, check_mode=False):
    return run_module(cri_socket.main, args, check_mode=check_mode)


def by_runtime(result):
    return {entry["runtime"]: entry for entry in result["endpoints"]}


# --- state=present --------------------------------------------------------------------------


def test_auto_reports_every_known_endpoint_in_order(node):
    node.install("containerd.service")
    node.serve("containerd")
    result = run({})
    assert "failed" not in result
    assert result["changed"] is False
    assert [e["endpoint"] for e in result["endpoints"]] == [node.url(r) for r in node.paths]
    assert result["live"] == [node.url("containerd")]
    assert result["restarted"] == []
    assert "would_restart" not in result

    containerd = result["endpoints"][0]
    assert containerd == dict(
        endpoint=node.url("containerd"),
        path=node.paths["containerd"],
        runtime="containerd",
        exists=True,
        is_socket=True,
        listening=True,
        api_checked=True,
        cri_api="v1",
        runtime_name="containerd",
        runtime_version="v1.7.13",
        runtime_api_version="v1",
        healthy=True,
        unit="containerd.service",
        unit_state=dict(load_state="loaded", active_state="active", sub_state="running"),
        restarted=False,
        message=(
            "containerd v1.7.13 answers CRI v1 (runtime API version v1) on "
            f"{node.paths['containerd']}."
        ),
    )
    crio = result["endpoints"][1]
    assert (crio["exists"], crio["healthy"], crio["api_checked"]) == (False, False, False)
    assert crio["unit_state"]["load_state"] == "not-found"
    assert crio["message"] == (
        f"Not installed: {node.paths['crio']} does not exist and crio.service is not installed."
    )
    dockershim = result["endpoints"][3]
    assert dockershim["unit"] is None
    assert dockershim["unit_state"] is None
    assert not warning_texts(result)
    assert node.restarts == []


def test_present_never_restarts_or_fails_for_a_dead_runtime(node):
    node.install("containerd.service", "failed", "failed")
    stale_socket(node.paths["containerd"])
    result = run({"endpoints": [node.url("containerd")]})
    assert "failed" not in result
    assert result["changed"] is False
    (entry,) = result["endpoints"]
    assert (entry["exists"], entry["is_socket"], entry["listening"]) == (True, True, False)
    assert entry["healthy"] is False
    assert "stale socket" in entry["message"]
    assert entry["unit_state"]["active_state"] == "failed"
    assert node.restarts == []


def test_explicit_unknown_endpoint_and_realpath_dedup(node):
    node.serve("containerd")
    via_link = f"{node.base}/var/run/containerd/containerd.sock"
    other = node.base / "k3s.sock"
    server = start_grpc(other, version_response("containerd", "v1.7.11-k3s2"))
    node.servers.append(server)
    result = run({"endpoints": [via_link, str(other), "auto"], "timeout": 2})
    endpoints = [e["endpoint"] for e in result["endpoints"]]
    assert endpoints == [via_link, str(other)] + [node.url(r) for r in list(node.paths)[1:]]
    assert result["endpoints"][0]["runtime"] == "containerd"
    assert result["endpoints"][0]["unit"] == "containerd.service"
    assert result["endpoints"][1]["runtime"] == "unknown"
    assert result["endpoints"][1]["runtime_version"] == "v1.7.11-k3s2"
    assert result["live"] == [via_link, str(other)]


def test_v1alpha2_runtime_is_reported_not_healthy(node):
    node.install("containerd.service")
    node.serve("containerd", apis=("v1alpha2",))
    result = run({"endpoints": [node.url("containerd")]})
    (entry,) = result["endpoints"]
    assert entry["cri_api"] == "v1alpha2"
    assert entry["healthy"] is False
    assert result["live"] == []
    assert "Kubernetes 1.26 and later" in entry["message"]


def test_v1alpha2_runtime_fails_state_running_without_a_restart(node):
    node.install("containerd.service")
    node.serve("containerd", apis=("v1alpha2",))
    result = run({"endpoints": [node.url("containerd")], "state": "running"})
    assert result["failed"] is True
    assert node.restarts == []
    assert result["changed"] is False
    (failure,) = result["failures"]
    assert failure["endpoint"] == node.url("containerd")
    assert "upgrade the runtime (containerd 1.6 or later serves v1)" in failure["message"]
    assert "Kubernetes 1.26 and later" in result["msg"]


# --- expect_single --------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_expect_single_fails_with_two_live_runtimes(node, check_mode):
    node.install("containerd.service")
    node.install("crio.service")
    node.serve("containerd")
    node.serve("crio")
    result = run({"expect_single": True}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["live"] == [node.url("containerd"), node.url("crio")]
    msg = result["msg"]
    assert msg.startswith("2 endpoints answer the CRI API: ")
    assert f"{node.url('containerd')} (containerd v1.7.13, CRI v1)" in msg
    assert f"{node.url('crio')} (cri-o 1.28.1, CRI v1)" in msg
    assert "found multiple CRI endpoints" in msg
    assert "disable" in msg
    assert "criSocket" in msg
    assert len(result["endpoints"]) == 4
    assert result["failures"] == []


def test_expect_single_counts_a_v1alpha2_runtime_too(node):
    node.serve("containerd", apis=("v1alpha2",))
    node.serve("crio")
    result = run({"expect_single": True})
    assert result["failed"] is True
    assert "(containerd v1.7.13, CRI v1alpha2)" in result["msg"]


def test_expect_single_passes_with_one_live_runtime(node):
    node.serve("crio")
    stale_socket(node.paths["containerd"])
    result = run({"expect_single": True})
    assert "failed" not in result
    assert result["live"] == [node.url("crio")]


# --- state=running --------------------------------------------------------------------------


def test_running_restarts_a_dead_runtime_and_waits_for_it(node):
    node.install("containerd.service", "failed", "failed")
    stale_socket(node.paths["containerd"])

    def restart():
        Path(node.paths["containerd"]).unlink()  # containerd removes its old socket
        node.serve("containerd", delay=0.6)

    node.on_restart["containerd.service"] = restart
    start = time.monotonic()
    result = run({"state": "running", "wait_timeout": 20, "timeout": 2})
    assert time.monotonic() - start < 10
    assert "failed" not in result
    assert result["changed"] is True
    assert result["restarted"] == ["containerd.service"]
    assert node.restarts == ["containerd.service"]
    containerd = by_runtime(result)["containerd"]
    assert containerd["restarted"] is True
    assert containerd["healthy"] is True
    assert containerd["runtime_version"] == "v1.7.13"
    assert containerd["unit_state"] == dict(
        load_state="loaded", active_state="active", sub_state="running"
    )
    # CRI-O and cri-dockerd are not installed: not restarted, not an error
    assert by_runtime(result)["crio"]["restarted"] is False
    assert result["live"] == [node.url("containerd")]

    again = run({"state": "running"})
    assert again["changed"] is False
    assert again["restarted"] == []
    assert node.restarts == ["containerd.service"]


def test_running_restarts_cri_dockerd_socket_then_service(node):
    node.install("cri-docker.service", "inactive", "dead")
    node.install("cri-docker.socket", "inactive", "dead")
    node.on_restart["cri-docker.service"] = lambda: node.serve("cri-dockerd")
    result = run({"endpoints": [node.url("cri-dockerd")], "state": "running"})
    assert "failed" not in result
    assert node.restarts == ["cri-docker.socket", "cri-docker.service"]
    assert result["restarted"] == ["cri-docker.socket", "cri-docker.service"]
    assert result["live"] == [node.url("cri-dockerd")]


def test_running_skips_a_socket_unit_that_is_not_installed(node):
    node.install("cri-docker.service", "inactive", "dead")
    node.on_restart["cri-docker.service"] = lambda: node.serve("cri-dockerd")
    result = run({"endpoints": [node.url("cri-dockerd")], "state": "running"})
    assert "failed" not in result
    assert node.restarts == ["cri-docker.service"]


def test_running_fails_when_the_api_never_comes_back(node, tmp_path):
    """Real commands: systemctl and journalctl are shell scripts the module executes."""
    log = tmp_path / "restarts.log"
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = show ]; then\n'
        "  for unit; do :; done\n"
        '  if [ "$unit" = containerd.service ]; then\n'
        "    printf 'LoadState=loaded\\nActiveState=activating\\nSubState=auto-restart\\n'\n"
        "  else\n"
        "    printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n'\n"
        "  fi\n"
        "  exit 0\n"
        "fi\n"
        f'if [ "$1" = restart ]; then echo "$2" >> {log}; exit 0; fi\n'
        "exit 1\n"
    )
    journalctl = tmp_path / "journalctl"
    journalctl.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/journalctl.args\n'
        "i=1\n"
        "while [ $i -le 25 ]; do\n"
        '  echo "containerd[42]: failed to load plugin io.containerd.grpc.v1.cri ($i)"\n'
        "  i=$((i + 1))\n"
        "done\n"
    )
    for script in (systemctl, journalctl):
        script.chmod(0o755)
    node.tools = {"systemctl": str(systemctl), "journalctl": str(journalctl)}
    with mock.patch.object(basic.AnsibleModule, "run_command", REAL_RUN_COMMAND):
        start = time.monotonic()
        result = run(
            {
                "endpoints": [node.paths["containerd"]],
                "state": "running",
                "wait_timeout": 1,
                "timeout": 0.5,
            },
        )
        elapsed = time.monotonic() - start
    assert result["failed"] is True
    assert elapsed < 3
    assert log.read_text() == "containerd.service\n"
    assert result["changed"] is True
    assert result["restarted"] == ["containerd.service"]
    (failure,) = result["failures"]
    assert failure["endpoint"] == node.paths["containerd"]
    assert failure["unit"] == "containerd.service"
    assert failure["unit_state"] == dict(
        load_state="loaded", active_state="activating", sub_state="auto-restart"
    )
    assert failure["journal"] == [
        f"containerd[42]: failed to load plugin io.containerd.grpc.v1.cri ({n})"
        for n in range(6, 26)
    ]
    assert (tmp_path / "journalctl.args").read_text().split() == [
        "-u",
        "containerd.service",
        "-n",
        "20",
        "--no-pager",
        "-o",
        "cat",
    ]
    assert "did not answer the CRI v1 API within 1 seconds" in failure["message"]
    assert result["msg"].startswith(f"{node.paths['containerd']}: containerd.service was restarted")
    (entry,) = result["endpoints"]
    assert entry["restarted"] is True
    assert entry["exists"] is False
    assert entry["unit_state"]["sub_state"] == "auto-restart"


def test_running_reports_a_failed_restart(node):
    node.install("crio.service", "failed", "failed")
    node.restart_failure["crio.service"] = 1
    node.journals["crio.service"] = ['level=fatal msg="validating runtime config: cgroupfs"']
    result = run({"endpoints": ["/run/../" + node.paths["crio"][1:]], "state": "running"})
    assert result["failed"] is True
    assert node.restarts == ["crio.service"]
    assert result["restarted"] == []
    assert result["changed"] is False
    (failure,) = result["failures"]
    assert failure["message"].startswith(
        "systemctl restart crio.service failed with exit code 1: Job for crio.service failed. "
    )
    assert failure["journal"] == ['level=fatal msg="validating runtime config: cgroupfs"']
    assert failure["unit_state"]["active_state"] == "failed"


def test_running_fails_for_an_explicit_endpoint_without_a_unit(node):
    missing = str(node.base / "custom.sock")
    result = run({"endpoints": [missing], "state": "running"})
    assert result["failed"] is True
    assert node.restarts == []
    (failure,) = result["failures"]
    assert failure["unit"] is None
    assert failure["unit_state"] is None
    assert failure["journal"] == []
    assert "No systemd unit is known" in failure["message"]


def test_running_fails_for_an_explicit_runtime_whose_unit_is_missing(node):
    result = run({"endpoints": [node.url("crio")], "state": "running"})
    assert result["failed"] is True
    assert node.restarts == []
    assert "crio.service is not installed, so it cannot be restarted" in result["msg"]


def test_running_without_systemctl_fails_clearly(node):
    node.tools = {}
    result = run({"state": "running"})
    assert result["failed"] is True
    assert result["msg"].startswith(
        "state=running restarts runtimes through systemd, but systemctl was not found"
    )
    assert node.calls == []


def test_present_without_systemctl_or_journalctl(node):
    node.tools = {}
    node.serve("crio")
    result = run({})
    assert "failed" not in result
    assert all(e["unit_state"] is None for e in result["endpoints"])
    assert by_runtime(result)["containerd"]["message"] == (
        f"{node.paths['containerd']} does not exist: no runtime listens there."
    )
    assert result["live"] == [node.url("crio")]
    assert node.calls == []


# --- check mode -----------------------------------------------------------------------------


def test_check_mode_reports_would_restart_and_restarts_nothing(node):
    node.install("containerd.service", "failed", "failed")
    node.install("cri-docker.service", "inactive", "dead")
    node.install("cri-docker.socket", "inactive", "dead")
    stale_socket(node.paths["containerd"])
    node.on_restart["containerd.service"] = lambda: pytest.fail("restarted in check mode")
    result = run({"state": "running"}, check_mode=True)
    assert "failed" not in result
    assert result["changed"] is True
    assert result["would_restart"] == [
        "containerd.service",
        "cri-docker.socket",
        "cri-docker.service",
    ]
    assert result["restarted"] == []
    assert node.restarts == []
    assert not any(e["restarted"] for e in result["endpoints"])
    assert by_runtime(result)["containerd"]["listening"] is False


def test_check_mode_with_nothing_to_do(node):
    node.install("containerd.service")
    node.serve("containerd")
    result = run({"state": "running"}, check_mode=True)
    assert result["changed"] is False
    assert result["would_restart"] == []


def test_check_mode_warns_instead_of_failing_for_what_it_cannot_fix(node):
    result = run({"endpoints": [str(node.base / "custom.sock")], "state": "running"}, True)
    assert "failed" not in result
    assert result["changed"] is False
    (warning,) = warning_texts(result)
    assert "No systemd unit is known" in warning


# --- dockershim -----------------------------------------------------------------------------


def test_dockershim_socket_is_a_leftover_never_restarted(node):
    node.install("containerd.service")
    node.serve("containerd")
    stale_socket(node.paths["dockershim"])
    result = run({"state": "running"})
    assert "failed" not in result
    assert node.restarts == []
    assert result["changed"] is False
    dockershim = by_runtime(result)["dockershim"]
    assert dockershim["exists"] is True
    assert dockershim["healthy"] is False
    assert dockershim["unit"] is None
    assert dockershim["restarted"] is False
    assert "removed in Kubernetes 1.24" in dockershim["message"]
    assert "--container-runtime=docker" in dockershim["message"]
    (warning,) = warning_texts(result)
    assert warning == dockershim["message"]


def test_dockershim_named_explicitly_with_running_fails_without_restart(node):
    node.serve("dockershim")
    result = run({"endpoints": [node.url("dockershim")], "state": "running"})
    assert result["failed"] is True
    assert node.restarts == []
    (entry,) = result["endpoints"]
    assert entry["cri_api"] == "v1"
    assert entry["healthy"] is False
    assert "a kubelet older than 1.24 is running" in result["msg"]


def test_dockershim_through_var_run_link_is_reported_once(node):
    result = run({"endpoints": ["auto", f"{node.base}/run/dockershim.sock"]})
    assert len(result["endpoints"]) == 4
    assert result["endpoints"][3]["endpoint"] == node.url("dockershim")


# --- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"endpoints": ["tcp://127.0.0.1:1"]}, "only unix socket endpoints are supported"),
        ({"endpoints": ["unix://run/crio/crio.sock"]}, "write three slashes"),
        ({"endpoints": []}, "endpoints is empty"),
        ({"timeout": 0}, "timeout must be more than 0 seconds"),
        ({"wait_timeout": -1}, "wait_timeout must be 0 or more seconds"),
    ],
)
def test_bad_arguments(node, args, fragment):
    result = run(args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert node.calls == []
