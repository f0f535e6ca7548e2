# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``etcd_plan`` filter: how many etcd members, on which hosts, and why.

Nothing in here touches a host or imports Ansible. ``plan_etcd`` takes the etcd hosts in
inventory order and an optional member count, and returns the plan: every member's name,
host, ports, URLs and data directory, the quorum arithmetic, the topology, and one-line
reasons and warnings for a human to read before anything changes.

The rules follow production guidance for etcd (an odd member count, 3 the minimum for
production, 5 the best size, never more than 7):

- 1 host: one member, labelled lab-grade; or ``etcd_member_count`` (3, 5, 7) members on it.
- 2 hosts: three members (or ``etcd_member_count``), all on the more reliable host. A 2+1
  split gains nothing: losing the host with two members loses quorum either way.
- 3+ hosts: one member per host, the largest odd count up to 5 by default, spread over
  failure domains first and the most reliable hosts first.

Messages name the inventory variables a user sets (``etcd_member_count``,
``etcd_reliability``, ``failure_domain``, ``etcd_data_dirs``, ``node_name``, ``node_ip``).
Every refusal is an ``EtcdPlanError`` whose message says what is wrong and how to fix it.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Mapping

MAX_MEMBERS = 7
DEFAULT_MAX_MEMBERS = 5
CLIENT_PORT = 2379
PEER_PORT = 2380
# The i-th extra member on one host listens 100 * i above the first one (2479/2480, ...).
PORT_STEP = 100
DATA_ROOT = "/var/lib/etcd"

SINGLE_MEMBER = "single-member"
ONE_HOST = "one-host"
TWO_HOSTS_ONE_SIDE = "two-hosts-one-side"
SPREAD = "spread"
TOPOLOGIES = (SINGLE_MEMBER, ONE_HOST, TWO_HOSTS_ONE_SIDE, SPREAD)

HOST_KEYS = ("host", "name", "ip", "reliability", "failure_domain", "data_dirs")

# A node name becomes part of a member name, a directory name and the initial-cluster
# string, so it may not hold separators of any of those.
_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


class EtcdPlanError(ValueError):
    """A request the planner refuses; the message says what is wrong and how to fix it."""


def quorum(count):
    """Members that must agree for etcd to accept a write: a majority."""
    return count // 2 + 1


def failure_tolerance(count):
    """Members that may be lost while a majority remains."""
    return (count - 1) // 2


def _plural(count, word):
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def url(ip, port):
    """``https://<ip>:<port>``, an IPv6 address in brackets."""
    host = f"[{ip}]" if ":" in ip else ip
    return f"https://{host}:{port}"


# --- inputs --------------------------------------------------------------------------------


def _host_label(index, entry):
    if isinstance(entry, Mapping) and isinstance(entry.get("host"), str) and entry["host"]:
        return entry["host"]
    return f"etcd host #{index + 1}"


def _normalize_ip(label, value):
    if value is None or value == "":
        raise EtcdPlanError(
            f"{label} has no ip: etcd needs each member's address. Run prodgrade.kubernetes."
            "preflight first (it settles the address from node_ip or the default route), "
            "or set node_ip for the host."
        )
    if not isinstance(value, str):
        raise EtcdPlanError(
            f"{label}: ip must be an IPv4 or IPv6 address as a string, got {value!r}; "
            "set node_ip to the host's address."
        )
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise EtcdPlanError(
            f"{label}: ip {value!r} is not an IPv4 or IPv6 address; etcd members advertise "
            "an address: set node_ip to the host's address."
        ) from None
    if getattr(address, "scope_id", None):
        raise EtcdPlanError(
            f"{label}: ip {value!r} carries a zone (%{address.scope_id}), which etcd URLs "
            "cannot hold; set node_ip to a global or unique-local address."
        )
    if address.is_unspecified:
        raise EtcdPlanError(
            f"{label}: ip {value!r} is the unspecified address, which no other member can "
            "reach; set node_ip to the host's own address."
        )
    return str(address)


def _normalize_data_dirs(label, value):
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise EtcdPlanError(
            f"{label}: etcd_data_dirs must be a list of absolute paths, got {value!r}; "
            "write it as a list, for example etcd_data_dirs: [/srv/disk1/etcd]."
        )
    dirs = []
    for item in value:
        if not isinstance(item, str) or not item.startswith("/"):
            raise EtcdPlanError(
                f"{label}: etcd_data_dirs entry {item!r} is not an absolute path; list "
                "absolute directories, one per member, each on its own disk "
                "(for example /srv/disk1/etcd)."
            )
        path = posixpath.normpath(item)
        if path in dirs:
            raise EtcdPlanError(
                f"{label}: etcd_data_dirs lists {path} more than once; each member needs "
                "its own directory, on its own disk."
            )
        dirs.append(path)
    return dirs


def _normalize_host(index, entry):
    label = _host_label(index, entry)
    if not isinstance(entry, Mapping):
        raise EtcdPlanError(
            f"{label} is {entry!r}, not a mapping: each etcd host is a dictionary with the "
            f"keys {', '.join(HOST_KEYS)}."
        )
    unknown = sorted(str(key) for key in entry if key not in HOST_KEYS)
    if unknown:
        raise EtcdPlanError(
            f"{label} has unknown keys {', '.join(unknown)}; an etcd host takes only "
            f"{', '.join(HOST_KEYS)} (check the spelling)."
        )
    host = entry.get("host")
    if not isinstance(host, str) or not host:
        raise EtcdPlanError(f"{label} has no host: give each etcd host its inventory name as host.")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise EtcdPlanError(
            f"{host} has no name: etcd member names come from node names. Run "
            "prodgrade.kubernetes.preflight first, or set node_name for the host."
        )
    if not _NAME_RE.match(name):
        raise EtcdPlanError(
            f"{host}: node name {name!r} cannot name an etcd member (it becomes part of a "
            "directory name and of --initial-cluster); set node_name to letters, digits, "
            "'.', '-' and '_', starting and ending with a letter or digit."
        )
    ip = _normalize_ip(host, entry.get("ip"))
    reliability = entry.get("reliability")
    if reliability is None:
        reliability = 0
    if not _is_int(reliability):
        raise EtcdPlanError(
            f"{host}: etcd_reliability must be a whole number (higher is more reliable, "
            f"default 0), got {reliability!r}."
        )
    domain = entry.get("failure_domain")
    if domain is None or domain == "":
        domain = host
    elif _is_int(domain):
        domain = str(domain)
    elif not isinstance(domain, str):
        raise EtcdPlanError(
            f"{host}: failure_domain must be a name such as a rack, room or zone, got {domain!r}."
        )
    return {
        "host": str(host),
        "name": str(name),
        "ip": ip,
        "reliability": int(reliability),
        "failure_domain": str(domain),
        "data_dirs": _normalize_data_dirs(host, entry.get("data_dirs")),
    }


def _refuse_shared(hosts, key, what, fix):
    owners = {}
    for host in hosts:
        owners.setdefault(host[key], []).append(host["host"])
    shared = [f"{value} ({', '.join(names)})" for value, names in owners.items() if len(names) > 1]
    if shared:
        raise EtcdPlanError(f"{what} used by more than one etcd host: {'; '.join(shared)}. {fix}")


def normalize_hosts(hosts):
    """Validate the etcd hosts and fill in the defaults; raise EtcdPlanError on bad input.

    Returns one ``{host, name, ip, reliability, failure_domain, data_dirs}`` per host, in
    input order: reliability 0, the host as its own failure domain, no data dirs, the
    address in its canonical form and every data dir normalized.
    """
    if hosts is None or isinstance(hosts, (str, Mapping)) or not hasattr(hosts, "__iter__"):
        raise EtcdPlanError(f"the etcd hosts must be a list of dictionaries, got {hosts!r}.")
    hosts = list(hosts)
    if not hosts:
        raise EtcdPlanError(
            "there are no etcd hosts: put at least one host in the etcd group (or, without "
            "an etcd group, in control_plane); 3 or more hosts for production."
        )
    normalized = [_normalize_host(index, entry) for index, entry in enumerate(hosts)]
    seen = set()
    repeated = []
    for host in normalized:
        if host["host"] in seen and host["host"] not in repeated:
            repeated.append(host["host"])
        seen.add(host["host"])
    if repeated:
        raise EtcdPlanError(
            f"etcd hosts listed more than once: {', '.join(repeated)}. List each inventory "
            "host once."
        )
    _refuse_shared(
        normalized,
        "ip",
        "Addresses",
        "Each etcd member needs its own address: set node_ip per host to that host's address.",
    )
    _refuse_shared(
        normalized,
        "name",
        "Node names",
        "etcd member names come from node names, so they must differ: set node_name per host.",
    )
    return normalized


def validate_member_count(member_count):
    """Return the requested member count (None: size from the hosts) or raise EtcdPlanError."""
    if member_count is None:
        return None
    if not _is_int(member_count):
        raise EtcdPlanError(
            f"etcd_member_count must be a whole number (1, 3, 5 or 7), or unset to size the "
            f"cluster from the hosts; got {member_count!r}."
        )
    if member_count <= 0:
        raise EtcdPlanError(
            f"etcd_member_count={member_count}: etcd needs at least one member. Use 3 or 5 "
            "(1 only for a lab), or leave it unset to size the cluster from the hosts."
        )
    if member_count > MAX_MEMBERS:
        raise EtcdPlanError(
            f"etcd_member_count={member_count}: more than {MAX_MEMBERS} members slow every "
            "write (each needs a majority to acknowledge) for no practical gain; etcd "
            f"recommends at most {MAX_MEMBERS}. Use 3, 5 or {MAX_MEMBERS}."
        )
    if member_count % 2 == 0:
        lower = member_count - 1
        higher = member_count + 1
        options = f"{lower} or {higher}" if higher <= MAX_MEMBERS else str(lower)
        raise EtcdPlanError(
            f"etcd_member_count={member_count} is even: {member_count} members need "
            f"{quorum(member_count)} for quorum and survive "
            f"{_plural(failure_tolerance(member_count), 'failure')}, the same as "
            f"{_plural(lower, 'member')}; the extra member only adds a vote every write "
            "waits for (4 members survive 1 failure like 3; 6 survive 2 like 5). Use an odd "
            f"count: {options}."
        )
    return member_count


def default_member_count(host_count):
    """The member count for this many hosts when etcd_member_count is unset."""
    if host_count == 1:
        return 1
    if host_count == 2:
        return 3
    count = min(DEFAULT_MAX_MEMBERS, host_count)
    return count if count % 2 else count - 1


def _largest_odd(limit):
    limit = min(limit, MAX_MEMBERS)
    return limit if limit % 2 else limit - 1


# --- placement -----------------------------------------------------------------------------


def by_reliability(hosts):
    """The hosts, most reliable first; equally reliable hosts keep their inventory order."""
    return sorted(hosts, key=lambda host: -host["reliability"])


def spread(hosts, count):
    """Pick ``count`` hosts, one member each: failure domains first, most reliable first.

    Domains are ordered by their most reliable host; each round takes the most reliable
    remaining host of every domain in turn, until ``count`` hosts are picked. The picked
    hosts therefore cover ``min(count, number of domains)`` domains.
    """
    queues = {}
    for host in by_reliability(hosts):
        queues.setdefault(host["failure_domain"], []).append(host)
    picked = []
    while len(picked) < count:
        for queue in queues.values():
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def _members_on(host, count):
    """The ``count`` members on one host: names, ports, URLs and data dirs."""
    dirs = host["data_dirs"]
    if count > 1 and dirs and len(dirs) < count:
        raise EtcdPlanError(
            f"{count} members on {host['host']} but only {len(dirs)} etcd_data_dirs "
            f"({', '.join(dirs)}): give each member its own disk and list at least {count} "
            "directories, one per disk."
        )
    members = []
    for index in range(count):
        name = f"etcd-{host['name']}" if count == 1 else f"etcd-{host['name']}-{index + 1}"
        client_port = CLIENT_PORT + PORT_STEP * index
        peer_port = PEER_PORT + PORT_STEP * index
        members.append(
            {
                "name": name,
                "host": host["host"],
                "node_name": host["name"],
                "ip": host["ip"],
                "client_port": client_port,
                "peer_port": peer_port,
                "client_url": url(host["ip"], client_port),
                "peer_url": url(host["ip"], peer_port),
                "data_dir": dirs[index] if dirs else posixpath.join(DATA_ROOT, name),
            }
        )
    return members


# --- the plan ------------------------------------------------------------------------------


def _count_reason(count, requested, host_count):
    arithmetic = (
        f"quorum {quorum(count)}, survives {_plural(failure_tolerance(count), 'member failure')}"
    )
    if requested is not None:
        return f"{_plural(count, 'member')}: set by etcd_member_count ({arithmetic})"
    if host_count == 1:
        return (
            "1 member: the default for a single host, a lab; set etcd_member_count=3 for "
            "three members on this host, each on its own disk (etcd_data_dirs)"
        )
    if host_count == 2:
        return f"3 members: the production minimum, kept even with only 2 hosts ({arithmetic})"
    if count == DEFAULT_MAX_MEMBERS:
        return (
            f"5 members: the best size for {host_count} hosts ({arithmetic}, so one member "
            "can be down for maintenance while another fails); more would only slow writes"
        )
    return (
        f"3 members: the largest odd count that {host_count} hosts hold one per host "
        f"({arithmetic}); 5 hosts would allow 5 members"
    )


def _place_one_host(host, count, reasons, warnings):
    if count == 1:
        reasons.append(f"the member runs on {host['host']}, the only etcd host")
    else:
        reasons.append(f"all {count} members on {host['host']}, the only etcd host")
        warnings.append(
            f"lab-grade: all {count} members are on {host['host']}, the only etcd host: they "
            "survive a member or disk failure, but losing the host loses the cluster. Add "
            "hosts for production."
        )
    return {host["host"]: count}


def _place_two_hosts(hosts, count, reasons, warnings):
    chosen, other = by_reliability(hosts)
    if chosen["reliability"] == other["reliability"]:
        reasons.append(
            f"{chosen['host']} and {other['host']} are equally reliable (etcd_reliability "
            f"{chosen['reliability']}): {chosen['host']} is taken as the first in the "
            "inventory; set etcd_reliability to choose"
        )
        which = f"{chosen['host']} (first in the inventory of 2 equally reliable hosts)"
    else:
        which = (
            f"{chosen['host']} (etcd_reliability {chosen['reliability']}), the more reliable "
            "of the 2 hosts"
        )
    if count == 1:
        reasons.append(f"the member runs on {which}")
    else:
        reasons.append(
            f"all {count} members on {which}: a split such as 2+1 gains nothing, because "
            "losing the host with the majority loses quorum either way, while the members on "
            f"one host at least survive {_plural(failure_tolerance(count), 'member failure')}"
        )
        warnings.append(
            f"{chosen['host']} holds every etcd member: losing that host stops the cluster "
            "until it returns or etcd is restored from a backup. No placement on 2 hosts "
            "avoids this; a third host allows one member per host."
        )
    reasons.append(
        f"{other['host']} gets no etcd member: it still runs the control-plane components "
        "(API server, scheduler, controller-manager), so those stay spread over both hosts"
    )
    return {chosen["host"]: count}


def _place_spread(hosts, count, reasons, warnings):
    picked = spread(hosts, count)
    domains = {host["failure_domain"] for host in hosts}
    used = {}
    for host in picked:
        used.setdefault(host["failure_domain"], []).append(host["host"])
    names = ", ".join(host["host"] for host in picked)
    if count == 1:
        reasons.append(
            f"the member runs on {names}, the most reliable host (etcd_reliability "
            f"{picked[0]['reliability']})"
        )
    else:
        reasons.append(
            f"one member on each of {count} hosts ({names}), spread over failure domains "
            f"first and the most reliable hosts first: {len(used)} of "
            f"{_plural(len(domains), 'failure domain')} covered"
        )
    picked_names = {host["host"] for host in picked}
    unused = [host["host"] for host in hosts if host["host"] not in picked_names]
    if unused:
        they = "it comes" if len(unused) == 1 else "they come"
        reasons.append(
            f"no member on {', '.join(unused)}: {_plural(count, 'member')} are enough, and "
            f"{they} last by failure domain and etcd_reliability"
        )
    tolerance = failure_tolerance(count)
    for domain, members in used.items():
        if len(members) > 1:
            outcome = (
                f"more than the {tolerance} the cluster tolerates, so quorum is lost"
                if len(members) > tolerance
                else f"the cluster tolerates {tolerance}"
            )
            warnings.append(
                f"losing failure domain {domain} loses {len(members)} members "
                f"({', '.join(members)}): {outcome}. Hosts in more failure domains would "
                "spread the members further."
            )
    return {host["host"]: 1 for host in picked}


def plan_etcd(hosts, member_count=None):
    """The etcd plan for these hosts (inventory order) and an optional member count.

    ``hosts`` holds ``{host, name, ip, reliability, failure_domain, data_dirs}`` dictionaries
    (only host, name and ip are required). Returns a dictionary with ``members``,
    ``member_count``, ``quorum``, ``failure_tolerance``, ``topology``, ``lab_grade``,
    ``hosts``, ``initial_cluster``, ``reasons`` and ``warnings``. Raises EtcdPlanError for
    a request the rules refuse or malformed input.
    """
    hosts = normalize_hosts(hosts)
    requested = validate_member_count(member_count)
    host_count = len(hosts)
    if requested is not None and host_count >= 3 and requested > host_count:
        raise EtcdPlanError(
            f"etcd_member_count={requested} but there are only {host_count} etcd hosts: with "
            "3 or more hosts each member gets its own host, and putting two members on one "
            "host means losing that host loses two votes. Use "
            f"{_largest_odd(host_count)} or fewer, or add hosts to the etcd group."
        )
    count = requested if requested is not None else default_member_count(host_count)

    reasons = [_count_reason(count, requested, host_count)]
    warnings = []
    if host_count == 1:
        per_host = _place_one_host(hosts[0], count, reasons, warnings)
    elif host_count == 2:
        per_host = _place_two_hosts(hosts, count, reasons, warnings)
    else:
        per_host = _place_spread(hosts, count, reasons, warnings)

    members = []
    for host in hosts:
        on_host = per_host.get(host["host"], 0)
        if not on_host:
            continue
        members.extend(_members_on(host, on_host))
        if on_host > 1 and host["data_dirs"]:
            reasons.append(
                f"the {on_host} members on {host['host']} use its etcd_data_dirs, one each: "
                f"{', '.join(member['data_dir'] for member in members[-on_host:])}"
            )
        elif on_host > 1:
            warnings.append(
                f"the {on_host} members on {host['host']} share one disk (no etcd_data_dirs, "
                f"so each uses {DATA_ROOT}/<member name>): one disk failure loses them all, "
                "and they compete for fsync latency. Give each member its own disk with "
                "etcd_data_dirs."
            )

    if count == 1:
        topology = SINGLE_MEMBER
        advice = (
            "set etcd_member_count=3 and give each member its own disk with etcd_data_dirs"
            if host_count == 1
            else f"leave etcd_member_count unset for {default_member_count(host_count)} members"
        )
        warnings.append(
            "lab-grade: a single etcd member has no fault tolerance: losing it, or its disk, "
            "loses the cluster state until it is restored from a backup. This is a lab, not "
            f"production; {advice}."
        )
    elif host_count == 1:
        topology = ONE_HOST
    elif host_count == 2:
        topology = TWO_HOSTS_ONE_SIDE
    else:
        topology = SPREAD

    return {
        "members": members,
        "member_count": count,
        "quorum": quorum(count),
        "failure_tolerance": failure_tolerance(count),
        "topology": topology,
        "lab_grade": count == 1 or host_count == 1,
        "hosts": sorted(per_host),
        "initial_cluster": ",".join(f"{m['name']}={m['peer_url']}" for m in members),
        "reasons": reasons,
        "warnings": warnings,
    }
