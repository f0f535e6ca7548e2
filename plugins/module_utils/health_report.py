# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``health_report`` filter: one node's health report from its reads.

Runs on the controller. Every check turns what the health role read on a node (the
``cri_socket`` and ``cert_expiry`` results, one shell read of runc and the pipe limits, etcdctl
output, the kubelet's findings) into findings: a severity (ok, warning, critical), what was
seen, what it means and what to do.
"""

from __future__ import annotations

import json

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.kubelet_health import (
    NOTHING_TO_DO,
    SEVERITIES,
    finding,
    worst,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pipe_pages import (
    AFFECTED_RUNC,
    DEFAULT_SOFT,
    SYSCTL_HARD,
    SYSCTL_SOFT,
    is_affected,
    parse_runc_version_output,
    runc_advice,
)

SECTIONS = ("cri", "runc", "kubelet", "etcd", "certificates")
# etcd's default backend quota (--quota-backend-bytes): past it the cluster only reads.
ETCD_QUOTA = 2 * 1024**3
RUNC_MARKER = "@@runc"


def parse_node_read(stdout):
    """The health role's one shell read of a node, as a dict.

    Lines ``key value`` (soft, hard, time, kubelet_load, kubelet_active, runc_path,
    kubelet_client_cert), then ``@@runc`` and the raw ``runc --version`` output.
    """
    read = {}
    lines = (stdout or "").splitlines()
    for index, line in enumerate(lines):
        if line.strip() == RUNC_MARKER:
            read["runc_output"] = "\n".join(lines[index + 1 :])
            break
        key, _, value = line.partition(" ")
        read[key] = value.strip()
    return read


def _int_or_none(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def cri_section(result):
    endpoints = [
        {
            key: endpoint.get(key)
            for key in (
                "endpoint",
                "runtime",
                "exists",
                "is_socket",
                "listening",
                "cri_api",
                "runtime_name",
                "runtime_version",
                "runtime_api_version",
                "healthy",
                "unit",
                "message",
            )
        }
        for endpoint in (result or {}).get("endpoints") or []
    ]
    findings = []
    if not result or "endpoints" not in result:
        findings.append(
            finding(
                "cri.endpoints",
                "critical",
                "the CRI endpoints could not be checked",
                f"cri_socket failed: {(result or {}).get('msg', 'no result')}.",
                "Run the doctor with -vvv on this node and fix the error shown.",
            )
        )
        return {"endpoints": endpoints, "findings": findings}
    healthy = [e for e in endpoints if e["healthy"]]
    answering = [e for e in endpoints if e["cri_api"]]
    for endpoint in endpoints:
        if endpoint["cri_api"] == "v1alpha2":
            findings.append(
                finding(
                    "cri.api_version",
                    "critical",
                    f"{endpoint['endpoint']} answers only CRI v1alpha2 "
                    f"({endpoint['runtime_name']} {endpoint['runtime_version']})",
                    "Kubelets of Kubernetes 1.26 and later speak only CRI v1: this runtime "
                    "cannot run their pods.",
                    "Upgrade the runtime (containerd 1.6 or later, CRI-O of the cluster's minor).",
                    endpoint["endpoint"],
                )
            )
        elif endpoint["exists"] and not endpoint["cri_api"] and endpoint["runtime"] != "dockershim":
            findings.append(
                finding(
                    "cri.stale_socket",
                    "warning",
                    f"{endpoint['endpoint']} exists but does not answer the CRI API",
                    "A runtime that crashed or was removed left its socket behind. The kubelet "
                    "gets 'connection refused' if it is configured for it, and kubeadm counts "
                    "the file as a runtime ('found multiple CRI endpoints').",
                    f"Start {endpoint['unit'] or 'the runtime'} if this node should use it, "
                    "otherwise remove the socket file.",
                    endpoint["endpoint"],
                )
            )
        if endpoint["runtime"] == "dockershim" and endpoint["exists"]:
            findings.append(
                finding(
                    "cri.dockershim",
                    "warning",
                    f"a dockershim socket is left at {endpoint['endpoint']}",
                    "dockershim was removed in Kubernetes 1.24; its socket is a leftover.",
                    "Remove the socket file; use Docker through cri-dockerd if you need Docker.",
                    endpoint["endpoint"],
                )
            )
    if not healthy:
        findings.append(
            finding(
                "cri.runtime",
                "critical",
                "no container runtime answers CRI v1",
                "The kubelet cannot create, list or stop any container: no pod runs on this "
                "node and PLEG cannot relist.",
                "Start the runtime (`systemctl status containerd`) and read its journal; run "
                "prodgrade.kubernetes.runtime to install and check it.",
            )
        )
    elif len(answering) > 1:
        findings.append(
            finding(
                "cri.runtime",
                "warning",
                "several runtimes answer: "
                + ", ".join(f"{e['runtime_name']} at {e['endpoint']}" for e in answering),
                "kubeadm refuses to pick one ('found multiple CRI endpoints') and two runtimes "
                "compete for the node's resources.",
                "Stop and disable the runtime the kubelet does not use, or name the endpoint "
                "explicitly (criSocket) when joining.",
                [e["endpoint"] for e in answering],
            )
        )
    else:
        live = healthy[0]
        findings.append(
            finding(
                "cri.runtime",
                "ok",
                f"{live['runtime_name']} {live['runtime_version']} answers CRI "
                f"{live['cri_api']} at {live['endpoint']}",
                "The kubelet can use the runtime.",
                value=live["endpoint"],
            )
        )
    return {"endpoints": endpoints, "findings": findings}


def runc_section(read):
    output = read.get("runc_output", "")
    path = read.get("runc_path") or None
    version = parse_runc_version_output(output)
    affected = is_affected(version)
    soft = _int_or_none(read.get("soft"))
    hard = _int_or_none(read.get("hard"))
    section = {
        "runc_path": path,
        "runc_version": version,
        "runc_affected": affected,
        "pipe_user_pages_soft": soft,
        "pipe_user_pages_hard": hard,
        "findings": [],
    }
    findings = section["findings"]
    advice = runc_advice(bool(path), path, version, affected)
    if not path:
        findings.append(
            finding(
                "runc.version",
                "warning",
                "no runc binary found",
                advice + " containerd, CRI-O and Docker all start containers through an OCI "
                "runtime, usually runc.",
                "Install runc with the runtime (prodgrade.kubernetes.runtime).",
            )
        )
    elif version is None:
        findings.append(
            finding(
                "runc.version",
                "warning",
                f"could not read the version of {path}",
                advice,
                f"Run `{path} --version` on the node.",
                output.strip()[:200] or None,
            )
        )
    elif affected:
        findings.append(
            finding(
                "runc.version",
                "critical",
                f"runc {version} at {path} has the `runc init` pipe hang",
                advice,
                f"Upgrade runc past {AFFECTED_RUNC}. Until then keep {SYSCTL_SOFT}=0 "
                "(prodgrade.kubernetes.node does that for this runc).",
                version,
            )
        )
    else:
        findings.append(
            finding("runc.version", "ok", f"runc {version} is not affected", advice, value=version)
        )

    if soft is None:
        findings.append(
            finding(
                "pipe.soft",
                "warning",
                f"{SYSCTL_SOFT} could not be read ({read.get('soft') or 'nothing'})",
                "Whether new pipes get shrunk is unknown.",
                "Read /proc/sys/fs/pipe-user-pages-soft on the node.",
            )
        )
    elif affected and soft != 0:
        findings.append(
            finding(
                "pipe.soft",
                "critical",
                f"{SYSCTL_SOFT}={soft} with runc {version}",
                f"Once root's pipes pass {soft} pages, new pipes shrink to 2 pages and this "
                "runc's `runc init` blocks writing to one: containers stop starting and the "
                "node turns 'PLEG is not healthy'.",
                f"Run prodgrade.kubernetes.node (it lifts {SYSCTL_SOFT} to 0 for this runc) and "
                "upgrade runc; kill stuck `runc init` processes, as raising the limit does not "
                "free them.",
                soft,
            )
        )
    elif 0 < soft < DEFAULT_SOFT:
        findings.append(
            finding(
                "pipe.soft",
                "warning",
                f"{SYSCTL_SOFT}={soft}, below the kernel default {DEFAULT_SOFT}",
                "New pipes of busy users shrink sooner than on a default kernel; any program "
                "that writes more than a small pipe holds without reading can block.",
                f"Set {SYSCTL_SOFT} back to {DEFAULT_SOFT} or more (node_pipe_user_pages_soft).",
                soft,
            )
        )
    else:
        what = "no limit" if soft == 0 else "pipes shrink only past this many pages per user"
        findings.append(
            finding(
                "pipe.soft",
                "ok",
                f"{SYSCTL_SOFT}={soft} ({what}), {SYSCTL_HARD}={hard}",
                "Pipe buffer limits leave the runc found here unaffected.",
                value=soft,
            )
        )
    if hard and soft is not None and (soft == 0 or soft > hard):
        findings.append(
            finding(
                "pipe.hard",
                "warning",
                f"{SYSCTL_HARD}={hard} caps pipes below {SYSCTL_SOFT}={soft}",
                f"Past {hard} pages a user's new pipes fail outright, whatever the soft limit.",
                f"Set {SYSCTL_HARD} to 0 (no limit), the kernel default.",
                hard,
            )
        )
    return section


def kubelet_section(read, findings):
    load = read.get("kubelet_load") or "unknown"
    active = read.get("kubelet_active") or "unknown"
    section = {"load_state": load, "active_state": active, "findings": []}
    if active != "active":
        if load in ("not-found", "unknown", ""):
            section["findings"].append(
                finding(
                    "kubelet.running",
                    "warning",
                    "kubelet not running: kubelet.service is not installed",
                    "This node has no kubelet yet, so it runs no pods; PLEG and the kubelet's "
                    "health were not checked. Expected before the kubeadm phase.",
                    "Join the node with the kubeadm phase (prodgrade.kubernetes.kubeadm), then "
                    "run the doctor again.",
                    load,
                )
            )
        else:
            section["findings"].append(
                finding(
                    "kubelet.running",
                    "critical",
                    f"kubelet not running: kubelet.service is {active}",
                    "The node runs no new pods and turns NotReady; PLEG and the kubelet's health "
                    "were not checked.",
                    "Read `systemctl status kubelet` and `journalctl -u kubelet -n 100` on the "
                    "node, fix the cause and start it.",
                    active,
                )
            )
        return section
    section["findings"].extend(findings or [])
    for item in section["findings"]:
        if item["check"] == "kubelet.pleg_relist_duration" and isinstance(item["value"], dict):
            section["pleg_relist_duration"] = item["value"]
        if item["check"] == "kubelet.pleg_last_seen":
            section["pleg_last_seen_age_seconds"] = item["value"]
    return section


def _parse_etcd_output(stdout):
    """``{part: (rc, parsed JSON or raw text)}`` from the role's sectioned etcdctl output."""
    parts = {}
    current, rc, body = None, None, []

    def close():
        if current is None:
            return
        text = "\n".join(body).strip()
        try:
            parts[current] = (rc, json.loads(text))
        except ValueError:
            parts[current] = (rc, text)

    for line in (stdout or "").splitlines():
        if line.startswith("@@"):
            close()
            name, _, code = line[2:].partition(" ")
            current, rc, body = name, _int_or_none(code), []
        else:
            body.append(line)
    close()
    return parts


def etcd_section(stdout, plan, host, quota_bytes=ETCD_QUOTA):
    planned = [m for m in (plan or {}).get("members", [])]
    mine = [m for m in planned if m["host"] == host]
    section = {"members_here": [m["name"] for m in mine], "findings": []}
    findings = section["findings"]
    parts = _parse_etcd_output(stdout)
    status_rc, statuses = parts.get("status", (None, None))
    health_rc, healths = parts.get("health", (None, None))
    list_rc, listing = parts.get("members", (None, None))

    # Health of this host's members.
    if isinstance(healths, list) and healths:
        sick = [h for h in healths if not h.get("health")]
        section["health"] = [
            {
                "endpoint": h.get("endpoint"),
                "health": bool(h.get("health")),
                "error": h.get("error"),
            }
            for h in healths
        ]
        if sick:
            findings.append(
                finding(
                    "etcd.health",
                    "critical",
                    "unhealthy etcd member(s) on this host: "
                    + ", ".join(f"{h.get('endpoint')} ({h.get('error')})" for h in sick),
                    "The member does not serve a linearizable read: it is down, cut off from the "
                    "leader or out of quorum. Losing more members than the tolerance stops the "
                    "Kubernetes API.",
                    "Read `journalctl -u etcd@<member>` on this host; run "
                    "prodgrade.kubernetes.etcd to start members that are stopped.",
                    len(sick),
                )
            )
        else:
            findings.append(
                finding(
                    "etcd.health",
                    "ok",
                    f"{len(healths)} member(s) on this host healthy",
                    "The members serve reads and writes.",
                    value=len(healths),
                )
            )
    else:
        findings.append(
            finding(
                "etcd.health",
                "critical",
                f"etcdctl endpoint health failed (rc {health_rc})",
                f"The members on this host did not answer: {str(healths)[:300]}",
                "Check `systemctl status 'etcd@*'` on this host and the certificates in "
                "/etc/kubernetes/pki/etcd.",
            )
        )

    members = listing.get("members", []) if isinstance(listing, dict) else []
    names_by_id = {m.get("ID"): m.get("name") for m in members}
    # Leader and database size from this host's members' status.
    if isinstance(statuses, list) and statuses:
        section["status"] = []
        leaders = set()
        for entry in statuses:
            status = entry.get("Status", {})
            leaders.add(status.get("leader"))
            section["status"].append(
                {
                    "endpoint": entry.get("Endpoint"),
                    "version": status.get("version"),
                    "db_size": status.get("dbSize"),
                    "db_size_in_use": status.get("dbSizeInUse"),
                    "leader": names_by_id.get(status.get("leader"), status.get("leader")),
                    "is_learner": bool(status.get("isLearner")),
                    "raft_term": status.get("raftTerm"),
                }
            )
        if leaders in ({0}, {None}) or 0 in leaders or None in leaders or len(leaders) != 1:
            findings.append(
                finding(
                    "etcd.leader",
                    "critical",
                    "no single leader: "
                    + ", ".join(
                        str(names_by_id.get(lead, lead)) for lead in sorted(leaders, key=str)
                    ),
                    "Without one leader followed by every member, etcd accepts no writes and the "
                    "Kubernetes API stops.",
                    "Check that a quorum of members runs and that peers reach each other on the "
                    "peer port (2380); read the members' journals for election messages.",
                    sorted(str(lead) for lead in leaders),
                )
            )
        else:
            leader = leaders.pop()
            section["leader"] = names_by_id.get(leader, str(leader))
            findings.append(
                finding(
                    "etcd.leader",
                    "ok",
                    f"leader {section['leader']}",
                    "The members follow one leader.",
                    value=section["leader"],
                )
            )
        sizes = [s["db_size"] or 0 for s in section["status"]]
        largest = max(sizes)
        used = largest / quota_bytes if quota_bytes else 0
        size_text = (
            f"database {largest / 1024**2:.1f} MiB of the {quota_bytes / 1024**2:.0f} MiB quota"
        )
        if used >= 0.95:
            severity = "critical"
        elif used >= 0.8:
            severity = "warning"
        else:
            severity = "ok"
        findings.append(
            finding(
                "etcd.db_size",
                severity,
                size_text,
                "Past the quota etcd raises the NOSPACE alarm and accepts only reads and deletes: "
                "the Kubernetes API stops writing."
                if severity != "ok"
                else "Well within the backend quota.",
                "Compact and defragment (`etcdctl compact`, `etcdctl defrag` one member at a "
                "time), find what grows (events, large objects), then `etcdctl alarm disarm`."
                if severity != "ok"
                else NOTHING_TO_DO,
                largest,
            )
        )
    else:
        findings.append(
            finding(
                "etcd.leader",
                "critical",
                f"etcdctl endpoint status failed (rc {status_rc})",
                f"Leader and database size are unknown: {str(statuses)[:300]}",
                "Check the members on this host (see etcd.health).",
            )
        )

    # The member list against the plan.
    if members:
        listed = {
            m.get("name"): {
                "peer_urls": sorted(m.get("peerURLs") or []),
                "client_urls": sorted(m.get("clientURLs") or []),
                "learner": bool(m.get("isLearner")),
            }
            for m in members
        }
        section["member_list"] = sorted(listed)
        wanted = {m["name"]: m for m in planned}
        missing = sorted(set(wanted) - set(listed))
        extra = sorted(set(listed) - set(wanted))
        learners = sorted(name for name, m in listed.items() if m["learner"])
        wrong = sorted(
            name
            for name in set(wanted) & set(listed)
            if listed[name]["peer_urls"] != [wanted[name]["peer_url"]]
            or (
                listed[name]["client_urls"]
                and listed[name]["client_urls"] != [wanted[name]["client_url"]]
            )
        )
        if missing or extra or learners or wrong:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if extra:
                problems.append(f"not in the plan {', '.join(extra)}")
            if learners:
                problems.append(f"still learners {', '.join(learners)}")
            if wrong:
                problems.append(f"URLs differ from the plan for {', '.join(wrong)}")
            findings.append(
                finding(
                    "etcd.members",
                    "critical" if missing or extra else "warning",
                    "member list differs from the plan: " + "; ".join(problems),
                    "The cluster is not the one the inventory plans: quorum and failure "
                    "tolerance differ from what prodgrade.kubernetes.plan prints.",
                    "Run prodgrade.kubernetes.plan to see the plan, then "
                    "prodgrade.kubernetes.etcd to converge; remove members that are not in "
                    "the plan with `etcdctl member remove` after checking they are gone.",
                    {"missing": missing, "extra": extra, "learners": learners, "wrong_urls": wrong},
                )
            )
        else:
            findings.append(
                finding(
                    "etcd.members",
                    "ok",
                    f"{len(listed)} members, as planned: {', '.join(sorted(listed))}",
                    f"Quorum {plan.get('quorum')}, tolerates {plan.get('failure_tolerance')} "
                    "failure(s).",
                    value=sorted(listed),
                )
            )
    else:
        findings.append(
            finding(
                "etcd.members",
                "critical",
                f"etcdctl member list failed (rc {list_rc})",
                f"The membership is unknown: {str(listing)[:300]}",
                "Check the members on this host (see etcd.health).",
            )
        )
    return section


def certificates_section(result, warn_days):
    certificates = [
        {
            key: cert.get(key)
            for key in ("path", "source", "subject", "days_left", "status", "error")
        }
        for cert in (result or {}).get("certificates") or []
    ]
    section = {"warn_days": warn_days, "certificates": certificates, "findings": []}
    findings = section["findings"]
    if not result or "certificates" not in result:
        findings.append(
            finding(
                "certificates",
                "warning",
                "certificates could not be read",
                f"cert_expiry failed: {(result or {}).get('msg', 'no result')}.",
                "Run the doctor with -vvv on this node and fix the error shown.",
            )
        )
        return section
    for cert in certificates:
        where = cert["path"] + ("" if cert["source"] == "file" else f" ({cert['source']})")
        if cert["status"] == "expired":
            findings.append(
                finding(
                    "certificates.expired",
                    "critical",
                    f"{where} expired {-cert['days_left']} day(s) ago ({cert['subject']})",
                    "Whatever presents or trusts this certificate fails its TLS handshakes.",
                    "Renew leaves with prodgrade.kubernetes.certs_renew; an expired CA must be "
                    "replaced (docs/pki.md).",
                    cert["days_left"],
                )
            )
        elif cert["status"] == "expiring":
            findings.append(
                finding(
                    "certificates.expiring",
                    "warning",
                    f"{where} expires in {cert['days_left']} day(s) ({cert['subject']})",
                    f"Within the {warn_days}-day warning window; once expired its TLS "
                    "handshakes fail.",
                    "Renew with prodgrade.kubernetes.certs_renew before it expires.",
                    cert["days_left"],
                )
            )
        elif cert["status"] == "unreadable":
            findings.append(
                finding(
                    "certificates.unreadable",
                    "warning",
                    f"{where} cannot be read: {cert['error']}",
                    "A certificate file that does not parse is either corrupt or not a "
                    "certificate; what uses it fails.",
                    "Reinstall it with prodgrade.kubernetes.pki.",
                    cert["path"],
                )
            )
    if not findings:
        if certificates:
            soonest = min(c["days_left"] for c in certificates)
            summary = (
                f"{len(certificates)} certificates, the soonest expiring in {soonest} days "
                f"(warning at {warn_days})"
            )
        else:
            soonest = None
            summary = "no certificates found under " + ", ".join(
                (result or {}).get("missing") or ["the given paths"]
            )
        findings.append(
            finding(
                "certificates",
                "ok",
                summary,
                "No certificate is expired, expiring or unreadable.",
                value=soonest,
            )
        )
    return section


def build_report(
    host,
    node_name=None,
    read_stdout="",
    cri=None,
    certificates=None,
    kubelet=None,
    etcd=None,
    plan=None,
    cert_warn_days=30,
    etcd_quota_bytes=ETCD_QUOTA,
    generated_at=None,
):
    """One node's report: every section's facts and findings, and the worst severity."""
    read = parse_node_read(read_stdout)
    sections = {
        "cri": cri_section(cri),
        "runc": runc_section(read),
        "kubelet": kubelet_section(read, kubelet),
    }
    etcd_ran = isinstance(etcd, dict) and not etcd.get("skipped") and "stdout" in etcd
    if etcd_ran:
        sections["etcd"] = etcd_section(etcd.get("stdout"), plan, host, etcd_quota_bytes)
    sections["certificates"] = certificates_section(certificates, cert_warn_days)
    findings = []
    for name in SECTIONS:
        for item in sections.get(name, {}).get("findings", []):
            findings.append({"section": name, **item})
    counts = {severity: 0 for severity in SEVERITIES}
    for item in findings:
        counts[item["severity"]] += 1
    return {
        "host": host,
        "node_name": node_name or host,
        "generated_at": generated_at,
        "node_time": _int_or_none(read.get("time")),
        "status": worst(findings),
        "counts": counts,
        "sections": sections,
        "findings": findings,
    }


def fails(report, fail_on):
    """Whether a report fails the run for ``fail_on`` (critical, warning or never)."""
    if fail_on == "never":
        return False
    return SEVERITIES.index(report["status"]) >= SEVERITIES.index(fail_on)
