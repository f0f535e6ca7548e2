# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One node's health report from the health role's reads (the health_report filter)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.filter.health_report import health_report
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import plan_etcd
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.health_report import (
    build_report,
    fails,
    parse_node_read,
)

PLAN = plan_etcd([{"host": f"cp{i}", "name": f"cp-{i}", "ip": f"192.0.2.{i}"} for i in (1, 2, 3)])
IDS = {"etcd-cp-1": 11111111111111111111, "etcd-cp-2": 2222, "etcd-cp-3": 3333}

DEBIAN_RUNC = "runc version 1.1.15+ds1\ncommit: 1.1.15+ds1-2\nspec: 1.2.0\ngo: go1.23.4\n"
RC93_RUNC = "runc version 1.0.0-rc93\ncommit: 12644e61\nspec: 1.0.2-dev\n"


def node_read(soft=16384, hard=0, runc=DEBIAN_RUNC, kubelet=("not-found", "inactive")):
    lines = [
        f"soft {soft}",
        f"hard {hard}",
        "time 1764001235",
        f"kubelet_load {kubelet[0]}",
        f"kubelet_active {kubelet[1]}",
        "kubelet_client_cert yes",
        f"runc_path {'/usr/sbin/runc' if runc is not None else ''}",
        "@@runc",
    ]
    return "\n".join(lines) + "\n" + (runc or "")


def endpoint(path, runtime, live=True, api="v1", exists=True):
    return {
        "endpoint": f"unix://{path}",
        "path": path,
        "runtime": runtime,
        "exists": exists,
        "is_socket": exists,
        "listening": live,
        "cri_api": api if live else None,
        "runtime_name": runtime if live else None,
        "runtime_version": "v1.7.24" if live else None,
        "runtime_api_version": "v1" if live else None,
        "healthy": live and api == "v1",
        "unit": f"{runtime}.service",
        "message": "",
    }


CONTAINERD_ONLY = {
    "changed": False,
    "endpoints": [
        endpoint("/run/containerd/containerd.sock", "containerd"),
        endpoint("/run/crio/crio.sock", "crio", live=False, exists=False),
        endpoint("/run/cri-dockerd.sock", "cri-dockerd", live=False, exists=False),
        endpoint("/var/run/dockershim.sock", "dockershim", live=False, exists=False),
    ],
}

CERTS = {
    "certificates": [
        {"path": "/etc/kubernetes/pki/ca.crt", "source": "file", "subject": "CN=kubernetes",
         "days_left": 3649, "status": "ok"},
        {"path": "/etc/kubernetes/pki/apiserver.crt", "source": "file",
         "subject": "CN=kube-apiserver", "days_left": 364, "status": "ok"},
    ],
    "summary": {"ok": 2, "expiring": 0, "expired": 0, "unreadable": 0},
    "missing": [],
}  # fmt: skip


def etcd_stdout(host="cp1", leader="etcd-cp-1", members=None, unhealthy=False, db=20480):
    mine = [m for m in PLAN["members"] if m["host"] == host]
    members = PLAN["members"] if members is None else members
    status = [
        {
            "Endpoint": m["client_url"],
            "Status": {
                "header": {"cluster_id": 99, "member_id": IDS[m["name"]], "revision": 7},
                "version": "3.5.16",
                "dbSize": db,
                "leader": IDS.get(leader, 0),
                "raftIndex": 40,
                "raftTerm": 2,
                "raftAppliedIndex": 40,
                "dbSizeInUse": db // 2,
            },
        }
        for m in mine
    ]
    health = [
        {"endpoint": m["client_url"], "health": not unhealthy, "took": "3.1ms"}
        | ({"error": "context deadline exceeded"} if unhealthy else {})
        for m in mine
    ]
    listing = {
        "header": {"cluster_id": 99, "member_id": IDS[mine[0]["name"]]},
        "members": [
            {"ID": IDS[m["name"]], "name": m["name"], "peerURLs": [m["peer_url"]],
             "clientURLs": [m["client_url"]]}
            for m in members
        ],
    }  # fmt: skip
    rc = 1 if unhealthy else 0
    return (
        f"@@status 0\n{json.dumps(status)}\n@@health {rc}\n{json.dumps(health)}\n"
        f"@@members 0\n{json.dumps(listing)}\n"
    )


def report(**kw):
    args = {
        "read_stdout": node_read(),
        "cri": CONTAINERD_ONLY,
        "certificates": CERTS,
        "kubelet": None,
        "etcd": {"stdout": etcd_stdout(), "rc": 0},
        "plan": PLAN,
    }
    args.update(kw)
    return build_report("cp1", node_name="cp-1", **args)


def checks(rep, severity=None):
    return [f["check"] for f in rep["findings"] if severity is None or f["severity"] == severity]


def test_the_lab_node_only_misses_its_kubelet():
    rep = report()
    assert rep["status"] == "warning"
    assert checks(rep, "warning") == ["kubelet.running"]
    assert checks(rep, "critical") == []
    assert rep["sections"]["kubelet"]["findings"][0]["summary"].startswith("kubelet not running")
    assert rep["sections"]["runc"]["runc_version"] == "1.1.15+ds1"
    assert rep["sections"]["runc"]["runc_affected"] is False
    assert rep["sections"]["runc"]["pipe_user_pages_soft"] == 16384
    assert rep["sections"]["etcd"]["leader"] == "etcd-cp-1"
    assert rep["sections"]["etcd"]["member_list"] == ["etcd-cp-1", "etcd-cp-2", "etcd-cp-3"]
    assert rep["node_time"] == 1764001235
    for item in rep["findings"]:
        assert item["section"] and item["summary"] and item["meaning"] and item["action"]


def test_parse_node_read_keeps_runc_output_whole():
    read = parse_node_read(node_read())
    assert read["runc_output"].startswith("runc version 1.1.15+ds1\ncommit")
    assert read["kubelet_load"] == "not-found"


def test_installed_but_stopped_kubelet_is_critical():
    rep = report(read_stdout=node_read(kubelet=("loaded", "failed")))
    assert checks(rep, "critical") == ["kubelet.running"]
    assert "failed" in rep["findings"][2]["summary"] or "failed" in str(rep["findings"])


def test_running_kubelet_takes_its_findings():
    finding = {"check": "kubelet.pleg_last_seen", "severity": "critical", "summary": "s",
               "meaning": "m", "action": "a", "value": 250.0}  # fmt: skip
    rep = report(read_stdout=node_read(kubelet=("loaded", "active")), kubelet=[finding])
    assert checks(rep, "critical") == ["kubelet.pleg_last_seen"]
    assert rep["sections"]["kubelet"]["pleg_last_seen_age_seconds"] == 250.0


def test_affected_runc_with_a_soft_limit_is_critical_twice():
    rep = report(read_stdout=node_read(runc=RC93_RUNC, soft=16384))
    assert checks(rep, "critical") == ["runc.version", "pipe.soft"]
    assert "issues/2828" in rep["sections"]["runc"]["findings"][0]["meaning"]


def test_affected_runc_with_the_limit_lifted_leaves_only_the_upgrade():
    rep = report(read_stdout=node_read(runc=RC93_RUNC, soft=0))
    assert checks(rep, "critical") == ["runc.version"]


@pytest.mark.parametrize(
    ("kwargs", "check", "severity"),
    [
        ({"soft": 4096}, "pipe.soft", "warning"),
        ({"soft": 32768, "hard": 16384}, "pipe.hard", "warning"),
        ({"runc": None}, "runc.version", "warning"),
        ({"runc": "runc version spec: 1.0.0\n"}, "runc.version", "warning"),
        ({"soft": "unreadable"}, "pipe.soft", "warning"),
    ],
)
def test_pipe_and_runc_warnings(kwargs, check, severity):
    rep = report(read_stdout=node_read(**kwargs))
    assert check in checks(rep, severity)


def test_no_runtime_answering_is_critical():
    down = {"endpoints": [endpoint("/run/containerd/containerd.sock", "containerd", live=False)]}
    rep = report(cri=down)
    assert checks(rep, "critical") == ["cri.runtime"]
    assert "cri.stale_socket" in checks(rep, "warning")


def test_v1alpha2_only_and_two_runtimes():
    old = {"endpoints": [endpoint("/run/containerd/containerd.sock", "containerd", api="v1alpha2")]}
    assert checks(report(cri=old), "critical") == ["cri.api_version", "cri.runtime"]
    two = {
        "endpoints": [
            endpoint("/run/containerd/containerd.sock", "containerd"),
            endpoint("/run/crio/crio.sock", "crio"),
        ]
    }
    assert "cri.runtime" in checks(report(cri=two), "warning")


def test_cri_module_failure_is_reported():
    rep = report(cri={"failed": True, "msg": "boom"})
    assert "boom" in rep["sections"]["cri"]["findings"][0]["meaning"]


def test_etcd_member_missing_from_the_list_is_critical():
    rep = report(etcd={"stdout": etcd_stdout(members=PLAN["members"][:2])})
    members = next(f for f in rep["findings"] if f["check"] == "etcd.members")
    assert members["severity"] == "critical"
    assert members["value"]["missing"] == ["etcd-cp-3"]


def test_etcd_without_leader_and_unhealthy():
    rep = report(etcd={"stdout": etcd_stdout(leader=None, unhealthy=True)})
    assert {"etcd.health", "etcd.leader"} <= set(checks(rep, "critical"))


def test_etcd_database_near_the_quota():
    rep = report(etcd={"stdout": etcd_stdout(db=int(0.85 * 2 * 1024**3))})
    assert "etcd.db_size" in checks(rep, "warning")
    rep = report(
        etcd={"stdout": etcd_stdout(db=int(0.85 * 2 * 1024**3))}, etcd_quota_bytes=8 * 1024**3
    )
    assert "etcd.db_size" in checks(rep, "ok")


def test_etcdctl_that_cannot_connect():
    out = (
        "@@status 1\nError: context deadline exceeded\n"
        "@@health 1\nError: x\n@@members 1\nError: y\n"
    )
    rep = report(etcd={"stdout": out})
    assert set(checks(rep, "critical")) == {"etcd.health", "etcd.leader", "etcd.members"}


def test_hosts_without_members_have_no_etcd_section():
    rep = report(etcd={"skipped": True, "changed": False})
    assert "etcd" not in rep["sections"]


def test_certificates_expiring_and_expired():
    certs = {
        "certificates": [
            {"path": "/etc/kubernetes/pki/apiserver.crt", "source": "file", "subject": "CN=a",
             "days_left": -2, "status": "expired"},
            {"path": "/etc/kubernetes/admin.conf", "source": "client-certificate-data",
             "subject": "CN=kubernetes-admin", "days_left": 12, "status": "expiring"},
        ]
    }  # fmt: skip
    rep = report(certificates=certs, cert_warn_days=30)
    assert checks(rep, "critical") == ["certificates.expired"]
    assert checks(rep, "warning") == ["kubelet.running", "certificates.expiring"]
    assert "(client-certificate-data)" in rep["findings"][-1]["summary"]


def test_certificate_summary_names_the_soonest():
    rep = report()
    assert (
        "soonest expiring in 364 days" in rep["sections"]["certificates"]["findings"][0]["summary"]
    )


@pytest.mark.parametrize(
    ("status", "fail_on", "expected"),
    [
        ("warning", "critical", False),
        ("warning", "warning", True),
        ("critical", "critical", True),
        ("critical", "never", False),
        ("ok", "warning", False),
    ],
)
def test_fails(status, fail_on, expected):
    assert fails({"status": status}, fail_on) is expected


def test_filter_takes_the_registered_read():
    rep = health_report(
        "cp1",
        {"stdout": node_read(), "rc": 0},
        node_name="cp-1",
        cri=CONTAINERD_ONLY,
        certificates=CERTS,
        etcd={"stdout": etcd_stdout()},
        plan=PLAN,
        cert_warn_days="30",
    )
    assert rep["status"] == "warning"
    assert json.loads(json.dumps(rep)) == rep
