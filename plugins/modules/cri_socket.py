#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cri_socket
short_description: Check that container runtimes answer the CRI API and restart those that do not
version_added: 0.1.0
description:
  - Checks the CRI endpoints of a node the way the kubelet uses them. For every endpoint it
    reports whether the socket path exists, whether it is a unix socket, whether a process
    accepts connections on it and whether that process answers the CRI C(Version) call, with
    the runtime name, runtime version and CRI API version it returns.
  - >-
    A socket file alone proves nothing. A runtime that crashed leaves its socket behind, and
    the kubelet then fails with C(connection refused); a missing socket gives
    C(transport: Error while dialing dial unix ...: no such file or directory). Only an answer
    to the API shows that the kubelet can use the runtime.
  - Kubelets of Kubernetes 1.26 and later speak only CRI C(runtime.v1). A runtime that
    answers only C(runtime.v1alpha2) (containerd before 1.6, for example) is reported with
    RV(endpoints[].cri_api=v1alpha2) and is not healthy.
  - With O(state=running) the systemd unit of every runtime that should answer but does not is
    restarted, and the module waits until the runtime answers or fails with the unit state and
    the end of its journal.
  - With O(expect_single) the module fails when several endpoints answer, the situation in
    which C(kubeadm) stops with C(found multiple CRI endpoints).
options:
  endpoints:
    description:
      - The CRI endpoints to check, each as C(unix:///path/to/socket) or as an absolute path.
      - V(auto) stands for every well-known endpoint, in this order. containerd at
        C(/run/containerd/containerd.sock) (unit C(containerd.service)); CRI-O at
        C(/run/crio/crio.sock) (unit C(crio.service)); cri-dockerd at C(/run/cri-dockerd.sock)
        (units C(cri-docker.socket) and C(cri-docker.service)); dockershim at
        C(/var/run/dockershim.sock) (no unit).
      - An endpoint found through V(auto) whose socket does not exist and whose unit is not
        installed is reported with RV(endpoints[].exists=false) and is not an error.
      - Endpoints that lead to the same file once symlinks are resolved are checked and
        reported once. C(/var/run) is usually a link to C(/run).
      - An explicit endpoint at one of the well-known paths gets that runtime's unit; any other
        explicit endpoint has RV(endpoints[].runtime=unknown) and no unit to restart.
    type: list
    elements: str
    default: [auto]
  state:
    description:
      - V(present) only inspects and reports. It does not fail because a runtime is down.
      - V(running) also restarts the unit of each endpoint that does not answer the CRI API,
        with C(systemctl restart), when the endpoint was named explicitly or was found by
        V(auto) with its unit installed. For cri-dockerd C(cri-docker.socket) is restarted
        before C(cri-docker.service). The module then waits up to O(wait_timeout) seconds for
        the API to answer and fails when it does not.
      - With V(running), the module also fails for an endpoint named explicitly that has no
        unit it can restart (an unknown runtime, dockershim, or a unit that is not
        installed), and for any endpoint it would restart that answers only CRI v1alpha2,
        which needs a newer runtime rather than a restart. Neither is restarted.
      - V(running) needs C(systemctl) on the host.
    type: str
    choices: [present, running]
    default: present
  expect_single:
    description:
      - Fail when more than one endpoint answers the CRI API, in any CRI version, and list
        every one of them with its runtime name and version.
      - This fails in check mode as well.
    type: bool
    default: false
  timeout:
    description:
      - Seconds allowed for one connection attempt and, separately, for one API call.
      - When the CRI v1 call gets an HTTP/2 answer without a response message, a second call
        for CRI v1alpha2 follows, so one endpoint can take up to three times this long.
    type: float
    default: 5.0
  wait_timeout:
    description:
      - Seconds to wait, after the restarts, for restarted runtimes to answer the CRI API.
      - The endpoints are polled, with a pause that starts at 0.2 seconds and grows to at
        most 2 seconds.
    type: int
    default: 60
attributes:
  check_mode:
    description: >-
      Nothing is restarted. The units that would be restarted are returned in
      RV(would_restart), and a runtime that is down does not fail the module.
    support: full
  diff_mode:
    description: The module changes no files, so there is nothing to show.
    support: none
  platform:
    description: Linux hosts. Restarts need systemd.
    platforms: posix
    support: full
notes:
  - The node needs no gRPC library. The module makes the CRI call with its own small client
    built on the Python standard library. It opens the unix socket and speaks HTTP/2 in
    cleartext with prior knowledge, so there is no TLS and no HTTP/1.1 upgrade. It sends the
    connection preface, an empty SETTINGS frame, one HEADERS frame and one DATA frame on
    stream 1. The header block is plain HPACK literals without Huffman coding. The DATA frame
    carries an empty C(VersionRequest).
  - While it waits for the answer the client acknowledges the server's SETTINGS and PING
    frames. It does not decode the server's headers or trailers, so the gRPC status is never
    read. A complete response message means success. If the stream ends, is reset, or the
    connection closes or times out before a complete message arrives, the call has failed,
    for example because the service is not implemented.
  - Only C(RuntimeService/Version) is called, first in C(runtime.v1) and then in
    C(runtime.v1alpha2). Images, sandboxes, the runtime's C(Status) call, its network plugin
    and its configuration are not checked.
  - Needs root (C(become)). By default only root may connect to the runtime sockets.
  - With O(endpoints=auto) and O(state=running), every runtime whose unit is installed is
    expected to run and is restarted when it does not answer. On hosts where a second
    runtime is installed but deliberately stopped, name the endpoint you use instead.
  - C(kubeadm) looks only for socket files when it picks a runtime. A stale socket from a
    runtime that is gone also makes it stop with C(found multiple CRI endpoints), although
    this module does not count such a socket as live.
  - dockershim was removed in Kubernetes 1.24. It ran inside the kubelet and has no unit, so
    its socket is reported as a leftover, with a warning, and is never restarted.
seealso:
  - name: Container runtimes
    description: The runtimes Kubernetes supports, their CRI socket paths and the cgroup driver.
    link: https://kubernetes.io/docs/setup/production-environment/container-runtimes/
  - name: Migrating from dockershim
    description: What to change on nodes that still use dockershim.
    link: https://kubernetes.io/docs/tasks/administer-cluster/migrating-from-dockershim/
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Report which container runtimes answer the CRI API on this node
  prodgrade.kubernetes.cri_socket:
  become: true
  register: cri

- name: Show the live endpoints
  ansible.builtin.debug:
    var: cri.live

- name: Make sure containerd answers, restarting it if needed, before kubeadm runs
  prodgrade.kubernetes.cri_socket:
    endpoints:
      - unix:///run/containerd/containerd.sock
    state: running
    wait_timeout: 120
  become: true

- name: Refuse to go on when kubeadm would find several runtimes
  prodgrade.kubernetes.cri_socket:
    expect_single: true
  become: true

- name: Check a runtime on a non-standard socket with a short timeout
  prodgrade.kubernetes.cri_socket:
    endpoints:
      - /run/k3s/containerd/containerd.sock
    timeout: 2
  become: true
  register: k3s_cri

- name: Fail when that runtime cannot serve a Kubernetes 1.26 or later kubelet
  ansible.builtin.assert:
    that: k3s_cri.endpoints[0].healthy
    fail_msg: "{{ k3s_cri.endpoints[0].message }}"
"""

RETURN = r"""
endpoints:
  description:
    - One entry per checked endpoint, in the order given, with V(auto) expanded in place.
    - After a restart the entry describes the state at the end of the wait.
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The endpoint as given, or C(unix://PATH) for one found through V(auto).
      type: str
      sample: unix:///run/containerd/containerd.sock
    path:
      description: The socket path that was checked.
      type: str
      sample: /run/containerd/containerd.sock
    runtime:
      description:
        - The runtime that the path belongs to by convention, one of V(containerd), V(crio),
          V(cri-dockerd) and V(dockershim), or V(unknown) for any other path.
      type: str
      sample: containerd
    exists:
      description: Whether anything exists at the path, following symlinks.
      type: bool
      sample: true
    is_socket:
      description: Whether the path is a unix socket.
      type: bool
      sample: true
    listening:
      description: Whether a connection to the socket was accepted.
      type: bool
      sample: true
    api_checked:
      description: Whether the CRI C(Version) call was attempted.
      type: bool
      sample: true
    cri_api:
      description:
        - The CRI API version in which the runtime answered, V(null) when it did not answer.
        - V(v1alpha2) means it answered only the old API that Kubernetes 1.26 and later
          do not use.
      type: str
      sample: v1
    runtime_name:
      description: The runtime name from the C(Version) answer, V(null) without an answer.
      type: str
      sample: containerd
    runtime_version:
      description: The runtime version from the C(Version) answer, V(null) without an answer.
      type: str
      sample: v1.7.13
    runtime_api_version:
      description: The runtime API version from the C(Version) answer, V(null) without one.
      type: str
      sample: v1
    healthy:
      description: Whether the endpoint answers CRI v1 and is not dockershim.
      type: bool
      sample: true
    unit:
      description: The systemd unit that serves the runtime, V(null) when none is known.
      type: str
      sample: containerd.service
    unit_state:
      description:
        - The unit's state from C(systemctl show). V(null) when there is no unit or no
          systemctl.
      type: dict
      sample:
        load_state: loaded
        active_state: active
        sub_state: running
      contains:
        load_state:
          description: C(LoadState), V(loaded) when the unit is installed.
          type: str
        active_state:
          description: C(ActiveState), for example V(active) or V(failed).
          type: str
        sub_state:
          description: C(SubState), for example V(running) or V(dead).
          type: str
    restarted:
      description: Whether the module restarted the unit of this endpoint.
      type: bool
      sample: false
    message:
      description: What was found and, when something is wrong, what to do about it.
      type: str
      sample: containerd v1.7.13 answers CRI v1 (runtime API version v1) on
        /run/containerd/containerd.sock.
live:
  description: The endpoints that answered CRI v1, as given in RV(endpoints[].endpoint).
  returned: always
  type: list
  elements: str
  sample:
    - unix:///run/containerd/containerd.sock
restarted:
  description: The units restarted, in order. Always empty in check mode.
  returned: always
  type: list
  elements: str
  sample:
    - containerd.service
would_restart:
  description: The units that would be restarted without check mode.
  returned: in check mode
  type: list
  elements: str
  sample:
    - cri-docker.socket
    - cri-docker.service
failures:
  description:
    - One entry per endpoint that made the module fail, with material for the diagnosis.
  returned: failure
  type: list
  elements: dict
  contains:
    endpoint:
      description: The endpoint.
      type: str
    unit:
      description: Its systemd unit, V(null) when none is known.
      type: str
    unit_state:
      description: The unit's C(LoadState), C(ActiveState) and C(SubState), as in
        RV(endpoints[].unit_state).
      type: dict
    journal:
      description:
        - The last 20 lines of the unit's journal, without metadata.
        - Empty when there is no unit or no journalctl.
      type: list
      elements: str
    message:
      description: Why the endpoint failed.
      type: str
"""

import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import cri  # noqa: E402

# Module-level names so that tests (and nothing else) can replace them.
AUTO_ENDPOINTS = cri.KNOWN_ENDPOINTS
monotonic = time.monotonic
sleep = time.sleep
JOURNAL_LINES = 20


def find_command(module, name):
    """Path of a system command, or None."""
    return module.get_bin_path(name)


class Node:
    """The host's systemd tools, bound to the module's run_command."""

    def __init__(self, module):
        self.module = module
        self.systemctl = find_command(module, "systemctl")
        self.journalctl = find_command(module, "journalctl")

    def run(self, argv):
        return self.module.run_command(argv)

    def unit_state(self, unit):
        return cri.get_unit_state(self.run, self.systemctl, unit)

    def journal(self, unit):
        return cri.journal_tail(self.run, self.journalctl, unit, JOURNAL_LINES)

    def restart(self, unit):
        """Restart a unit; return None or the reason it failed."""
        rc, out, err = self.run([self.systemctl, "restart", unit])
        if rc == 0:
            return None
        return f"systemctl restart {unit} failed with exit code {rc}: {(err or out).strip()}"


def inspect(node, target, timeout):
    """Inspect one target and fill in its unit state."""
    state = node.unit_state(target["unit"])
    report = cri.inspect_endpoint(target, timeout, unit_installed=cri.unit_is_installed(state))
    report["unit_state"] = state
    return report


def blocker(target, report, installed):
    """Why ``state=running`` cannot bring this endpoint up by a restart, or None.

    Only called for endpoints that are not healthy and that running applies to.
    """
    if target["runtime"] == cri.DOCKERSHIM:
        return report["message"]
    if report["cri_api"] == cri.CRI_V1ALPHA2:
        return report["message"]
    if not target["unit"]:
        return (
            f"{report['message']} No systemd unit is known for {target['path']}, so the "
            "module cannot restart the runtime: start it yourself."
        )
    if installed is False:
        return (
            f"{report['message']} {target['unit']} is not installed, so it cannot be restarted: "
            "install the runtime or name the endpoint it listens on."
        )
    return None


def wait_for(targets, reports, timeout, wait_timeout, node):
    """Poll the restarted targets until all answer CRI v1 or wait_timeout has passed."""
    pending = {index for index, _target in targets}

    def check(remaining):
        probe_timeout = min(timeout, max(remaining, 0.5))
        for index, target in targets:
            if index not in pending:
                continue
            report = inspect(node, target, probe_timeout)
            report["restarted"] = True
            reports[index] = report
            if report["healthy"]:
                pending.discard(index)
        return not pending

    cri.wait_until(check, wait_timeout, clock=monotonic, sleep=sleep)
    return pending


def failure_entry(node, report, message):
    return dict(
        endpoint=report["endpoint"],
        unit=report["unit"],
        unit_state=node.unit_state(report["unit"]),
        journal=node.journal(report["unit"]),
        message=message,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="str", default=[cri.AUTO]),
            state=dict(type="str", choices=["present", "running"], default="present"),
            expect_single=dict(type="bool", default=False),
            timeout=dict(type="float", default=cri.DEFAULT_TIMEOUT),
            wait_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    state = module.params["state"]
    timeout = module.params["timeout"]
    wait_timeout = module.params["wait_timeout"]
    if timeout <= 0:
        module.fail_json(msg=f"timeout must be more than 0 seconds, got {timeout:g}.")
    if wait_timeout < 0:
        module.fail_json(msg=f"wait_timeout must be 0 or more seconds, got {wait_timeout}.")
    try:
        targets = cri.expand_endpoints(module.params["endpoints"], AUTO_ENDPOINTS)
    except cri.CriError as exc:
        module.fail_json(msg=to_native(exc))

    node = Node(module)
    if state == "running" and not node.systemctl:
        module.fail_json(
            msg="state=running restarts runtimes through systemd, but systemctl was not found "
            "on this host. Start the runtime yourself, or use state=present to only check it."
        )

    reports = [inspect(node, target, timeout) for target in targets]

    to_restart = []
    problems = {}
    if state == "running":
        for index, target in enumerate(targets):
            report = reports[index]
            if report["healthy"]:
                continue
            installed = cri.unit_is_installed(report["unit_state"])
            if not target["explicit"] and (target["runtime"] == cri.DOCKERSHIM or not installed):
                continue
            reason = blocker(target, report, installed)
            if reason:
                problems[index] = reason
            else:
                to_restart.append((index, target))

    restarted = []
    would_restart = []
    failures = []
    if module.check_mode:
        for _index, target in to_restart:
            would_restart.extend(cri.restart_units(target))
        for index in sorted(problems):
            module.warn(f"{targets[index]['endpoint']}: {problems[index]}")
    else:
        started = []
        for index, target in to_restart:
            error = None
            for unit in cri.restart_units(target):
                if unit == target["socket_unit"] and not cri.unit_is_installed(
                    node.unit_state(unit)
                ):
                    continue
                error = node.restart(unit)
                if error:
                    break
                restarted.append(unit)
                reports[index]["restarted"] = True
            if error:
                problems[index] = f"{error.rstrip('.')}. {reports[index]['message']}"
            else:
                started.append((index, target))
        if started:
            still_down = wait_for(started, reports, timeout, wait_timeout, node)
            for index in still_down:
                problems[index] = (
                    f"{targets[index]['unit']} was restarted, but the endpoint did not answer the "
                    f"CRI v1 API within {wait_timeout} seconds. {reports[index]['message']}"
                )
        for index in sorted(problems):
            failures.append(failure_entry(node, reports[index], problems[index]))

    for target, report in zip(targets, reports):
        if target["runtime"] == cri.DOCKERSHIM and report["exists"]:
            module.warn(report["message"])

    answering = [report for report in reports if report["cri_api"]]
    messages = [f"{failure['endpoint']}: {failure['message']}" for failure in failures]
    if module.params["expect_single"] and len(answering) > 1:
        messages.append(
            f"{len(answering)} endpoints answer the CRI API: "
            + ", ".join(cri.answer_summary(report) for report in answering)
            + ". kubeadm refuses to choose between them (found multiple CRI endpoints). Stop "
            "and disable the runtimes this node does not use, for example with "
            "`systemctl disable --now crio.service`, or name the one to use explicitly "
            "(nodeRegistration.criSocket for kubeadm, endpoints for this module)."
        )

    result = dict(
        changed=bool(restarted or would_restart),
        endpoints=reports,
        live=[report["endpoint"] for report in reports if report["cri_api"] == cri.CRI_V1],
        restarted=restarted,
    )
    if module.check_mode:
        result["would_restart"] = would_restart
    if messages:
        module.fail_json(msg=" ".join(messages), failures=failures, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
