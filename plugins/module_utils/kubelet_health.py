# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``kubelet_findings`` filter: the kubelet's PLEG health from /metrics.

Runs on the controller only. The Prometheus text format is parsed with ``prometheus_client``
(its ``text_string_to_metric_families``), never by hand. Nothing here touches a host.

The metrics evaluated, as the kubelet defines them (pkg/kubelet/metrics/metrics.go):

- ``kubelet_pleg_last_seen_seconds`` (gauge): Unix time at which PLEG was last seen active.
  The kubelet reports "PLEG is not healthy" once that is older than 3 minutes
  (``relistThreshold`` in pkg/kubelet/pleg/generic.go).
- ``kubelet_pleg_relist_duration_seconds`` (histogram, no labels, default buckets
  0.005 ... 10 s): how long each relist of every container took.
- ``kubelet_pleg_discard_events`` (counter): events dropped because PLEG's channel was full.
- ``kubelet_runtime_operations_errors_total`` (counter, label ``operation_type``): failed CRI
  calls by operation.
"""

from __future__ import annotations

import datetime
import email.utils
import math

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover - exercised only on a controller without the package
    text_string_to_metric_families = None

SEVERITIES = ("ok", "warning", "critical")

LAST_SEEN = "kubelet_pleg_last_seen_seconds"
RELIST = "kubelet_pleg_relist_duration_seconds"
DISCARD = "kubelet_pleg_discard_events"
# Counter families as prometheus_client names them: without the ``_total`` of their samples.
RUNTIME_ERRORS = "kubelet_runtime_operations_errors"
RUNTIME_OPERATIONS = "kubelet_runtime_operations"

# The kubelet's own threshold: PLEG is unhealthy when its last relist is older than this.
PLEG_THRESHOLD = 180.0
# PLEG relists every second; a last-seen age past this already means relists are stuck.
PLEG_WARN = 30.0
# A relist slower than the relist period (1 s) means the runtime answers slowly.
RELIST_WARN = 1.0

NOTHING_TO_DO = "Nothing to do."


class MetricsError(ValueError):
    """The metrics text cannot be parsed; the message says why."""


def finding(check, severity, summary, meaning, action=NOTHING_TO_DO, value=None):
    """One finding of the health report."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return {
        "check": check,
        "severity": severity,
        "summary": summary,
        "meaning": meaning,
        "action": action,
        "value": value,
    }


def parse_metrics(text):
    """Return ``{family name: [(sample name, labels, value), ...]}`` from Prometheus text.

    Family names are prometheus_client's: a counter's family drops the ``_total`` suffix and
    its samples carry it (``kubelet_pleg_discard_events`` samples come back as
    ``kubelet_pleg_discard_events_total``). Raises MetricsError when prometheus_client is
    missing or the text does not parse.
    """
    if text_string_to_metric_families is None:
        raise MetricsError(
            "the Python package prometheus-client is not installed on the controller; "
            "install it there (pip install prometheus-client) to evaluate kubelet metrics"
        )
    families = {}
    try:
        for family in text_string_to_metric_families(text or ""):
            families.setdefault(family.name, []).extend(
                (sample.name, dict(sample.labels), sample.value) for sample in family.samples
            )
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise MetricsError(f"the kubelet's /metrics answer is not Prometheus text: {exc}") from exc
    return families


def samples_of(families, name, suffix=None):
    """``[(labels, value)]`` of a family, only samples named ``name + suffix`` when given."""
    found = []
    for sample_name, labels, value in families.get(name, []):
        if suffix is None or sample_name == name + suffix:
            found.append((labels, value))
    return found


def _to_epoch(now):
    """``now`` as Unix seconds: a number, or an HTTP date such as the response's Date header."""
    if isinstance(now, datetime.datetime):
        return now.timestamp()
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return float(now)
    text = str(now).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError) as exc:
        raise MetricsError(f"`now` must be Unix seconds or an HTTP date, got {now!r}") from exc


def histogram_quantile(quantile, buckets):
    """Prometheus' ``histogram_quantile`` over one histogram's cumulative buckets.

    ``buckets`` is ``[(upper bound, cumulative count), ...]`` including ``+Inf``. Linear
    interpolation inside the bucket holding the rank, the first bucket's lower bound 0; a rank
    in the ``+Inf`` bucket returns the highest finite bound. None without observations.
    """
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or not math.isinf(ordered[-1][0]):
        return None
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = quantile * total
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower  # pragma: no cover - the +Inf bucket always holds the rank


def relist_quantiles(samples):
    """p50/p90/p99 of the PLEG relist duration, and the number of relists, or None."""
    raw = samples_of(samples, RELIST, "_bucket")
    if not raw:
        return None
    buckets = [(float(labels["le"]), value) for labels, value in raw if "le" in labels]
    count = sum(value for _, value in samples_of(samples, RELIST, "_count")) or (
        max((c for _, c in buckets), default=0)
    )
    total = sum(value for _, value in samples_of(samples, RELIST, "_sum"))
    return {
        "count": int(count),
        "mean": (total / count) if count else None,
        "p50": histogram_quantile(0.5, buckets),
        "p90": histogram_quantile(0.9, buckets),
        "p99": histogram_quantile(0.99, buckets),
    }


def _seconds(value):
    return "n/a" if value is None else f"{value:.3f} s"


def healthz_finding(status, body=None):
    body_text = (body or "").strip()
    if status == 200 and body_text in ("", "ok"):
        return finding(
            "kubelet.healthz",
            "ok",
            "the kubelet's /healthz answers ok",
            "The kubelet runs and its own health checks (including the PLEG check) pass.",
        )
    detail = f"HTTP {status}" if status and status > 0 else "no answer"
    return finding(
        "kubelet.healthz",
        "critical",
        f"the kubelet's /healthz is not ok ({detail}{': ' + body_text[:200] if body_text else ''})",
        "The kubelet reports itself unhealthy or cannot be reached on the node; the node turns "
        "NotReady. A failing PLEG check shows as 'PLEG is not healthy' here and in the node's "
        "conditions.",
        "Read `journalctl -u kubelet` on the node and the PLEG findings below; check that the "
        "container runtime answers (the CRI findings).",
        status,
    )


def last_seen_finding(samples, now, threshold, warn):
    values = [value for _, value in samples_of(samples, LAST_SEEN)]
    if not values:
        return finding(
            "kubelet.pleg_last_seen",
            "warning",
            f"{LAST_SEEN} is not exposed",
            "This kubelet does not publish when PLEG last relisted (kubelets before 1.19), so "
            "a stuck relist can only be seen in /healthz and the node's conditions.",
            "Upgrade the kubelet, or watch the node's Ready condition for 'PLEG is not healthy'.",
        )
    age = now - max(values)
    if age >= threshold:
        return finding(
            "kubelet.pleg_last_seen",
            "critical",
            f"PLEG last relisted {age:.0f} s ago (limit {threshold:.0f} s): PLEG is not healthy",
            "The kubelet's pod lifecycle event generator has not finished a relist of the "
            "containers for longer than the kubelet tolerates: the node goes NotReady and pods "
            "on it are not updated. The usual cause is a runtime call that does not return, "
            "such as a `runc init` blocked on a shrunken pipe (runc 1.0.0-rc93 with "
            "fs.pipe-user-pages-soft reached).",
            "Check the runtime first: the runc and pipe findings, `crictl ps` timing, and "
            "`ps -eo pid,stat,etime,args | grep 'runc init'` for stuck processes. Raising "
            "fs.pipe-user-pages-soft does not free a `runc init` already stuck; upgrade runc, "
            "then restart the runtime and the kubelet.",
            round(age, 3),
        )
    if age >= warn:
        return finding(
            "kubelet.pleg_last_seen",
            "warning",
            f"PLEG last relisted {age:.0f} s ago (relists run every second; limit "
            f"{threshold:.0f} s)",
            "A relist is taking far longer than its one-second period; if it does not finish "
            "within the limit the node goes NotReady with 'PLEG is not healthy'.",
            "Run the doctor again in a minute; if the age keeps growing, treat it as the "
            "critical case (check the runtime and stuck `runc init` processes).",
            round(age, 3),
        )
    if age < -warn:
        return finding(
            "kubelet.pleg_last_seen",
            "warning",
            f"PLEG's last relist is {-age:.0f} s in the future of the reference time",
            "The node's clock and the reference time disagree, so the PLEG age cannot be judged.",
            "Synchronise the node's clock (chrony or systemd-timesyncd).",
            round(age, 3),
        )
    return finding(
        "kubelet.pleg_last_seen",
        "ok",
        f"PLEG last relisted {max(age, 0):.1f} s ago (limit {threshold:.0f} s)",
        "The kubelet keeps its view of the node's containers current.",
        value=round(age, 3),
    )


def relist_finding(samples, warn):
    quantiles = relist_quantiles(samples)
    if quantiles is None or quantiles["count"] == 0:
        return finding(
            "kubelet.pleg_relist_duration",
            "warning" if quantiles is None else "ok",
            f"{RELIST} has no observations"
            if quantiles is not None
            else f"{RELIST} is not exposed",
            "Without relist durations the runtime's speed as PLEG sees it is unknown.",
            NOTHING_TO_DO if quantiles is not None else "Check that this is a kubelet's /metrics.",
            quantiles,
        )
    text = (
        f"PLEG relist duration p50 {_seconds(quantiles['p50'])}, p90 {_seconds(quantiles['p90'])}, "
        f"p99 {_seconds(quantiles['p99'])} over {quantiles['count']} relists"
    )
    slow_action = (
        "Relists call the runtime's ListPodSandbox and ListContainers: check the runtime's "
        "latency (kubelet_runtime_operations_duration_seconds, `time crictl ps -a`), the number "
        "of containers on the node (exited ones included), disk I/O under /var/lib/containerd, "
        "and stuck `runc init` processes."
    )
    if quantiles["p50"] is not None and quantiles["p50"] > warn:
        return finding(
            "kubelet.pleg_relist_duration",
            "critical",
            text,
            "Most relists take longer than their one-second period: PLEG falls behind, pod "
            "status lags, and a longer stall turns the node NotReady.",
            slow_action,
            quantiles,
        )
    if quantiles["p99"] is not None and quantiles["p99"] > warn:
        return finding(
            "kubelet.pleg_relist_duration",
            "warning",
            text,
            "Some relists take longer than their one-second period: the runtime answers slowly "
            "at times. (The histogram covers the kubelet's whole lifetime.)",
            slow_action,
            quantiles,
        )
    return finding(
        "kubelet.pleg_relist_duration",
        "ok",
        text,
        "Relists finish well within their one-second period.",
        value=quantiles,
    )


def discard_finding(samples):
    values = [value for _, value in samples_of(samples, DISCARD)]
    if not values:
        return finding(
            "kubelet.pleg_discard_events",
            "ok",
            f"{DISCARD} is not exposed",
            "This kubelet does not count discarded PLEG events.",
        )
    total = int(sum(values))
    if total > 0:
        return finding(
            "kubelet.pleg_discard_events",
            "warning",
            f"PLEG discarded {total} events since the kubelet started",
            "PLEG's event channel (1000 events) was full, so container changes were dropped: "
            "the kubelet noticed them late, at the next full sync, and pod status lagged. This "
            "happens when the sync loop is blocked or many containers change at once.",
            "Look for kubelet restarts, slow runtime calls and very many containers per node at "
            "the time (journalctl -u kubelet); restart the kubelet to reset the counter and see "
            "whether it grows again.",
            total,
        )
    return finding(
        "kubelet.pleg_discard_events",
        "ok",
        "PLEG discarded no events",
        "Every container change reached the kubelet's sync loop.",
        value=0,
    )


def runtime_errors_finding(samples):
    errors = {}
    for labels, value in samples_of(samples, RUNTIME_ERRORS, "_total"):
        operation = labels.get("operation_type", "unknown")
        errors[operation] = errors.get(operation, 0) + int(value)
    operations = {}
    for labels, value in samples_of(samples, RUNTIME_OPERATIONS, "_total"):
        operation = labels.get("operation_type", "unknown")
        operations[operation] = operations.get(operation, 0) + int(value)
    failing = {op: count for op, count in sorted(errors.items()) if count > 0}
    if not failing:
        return finding(
            "kubelet.runtime_operation_errors",
            "ok",
            "no failed container runtime operations",
            "Every CRI call the kubelet made succeeded.",
            value={},
        )
    listed = ", ".join(
        f"{op} {count}" + (f"/{operations[op]}" if op in operations else "")
        for op, count in failing.items()
    )
    return finding(
        "kubelet.runtime_operation_errors",
        "warning",
        f"failed runtime operations since the kubelet started: {listed}",
        "CRI calls from the kubelet to the container runtime failed (counts since the kubelet "
        "started, failed/total where known). A few container_status or remove errors for "
        "containers already gone are normal; failing list or version calls, or growing "
        "counts, mean the runtime is unhealthy, and slow failing calls stall PLEG.",
        "Match the operations with the runtime's log (`journalctl -u containerd`) and the "
        "kubelet's (`journalctl -u kubelet`); check the runtime answers (the CRI findings).",
        failing,
    )


def metrics_access_finding(metrics_status, authenticated):
    """None when /metrics was read, else the finding that says why it was not."""
    if not authenticated:
        return finding(
            "kubelet.metrics",
            "warning",
            "cannot authenticate to the kubelet: no client certificate on this node",
            "The kubelet serves /metrics only to authenticated, authorised clients, and this "
            "node holds no certificate the doctor can present (workers get only their "
            "kubelet.conf). PLEG and runtime metrics were not checked here; /healthz was read "
            "from the kubelet's local health port instead.",
            "Run the doctor with health_kubelet_client_cert and health_kubelet_client_key "
            "pointing at a client certificate the API server authorises for nodes/metrics "
            "(for example apiserver-kubelet-client), or check this node's metrics from your "
            "monitoring system.",
        )
    if metrics_status in (401, 403):
        return finding(
            "kubelet.metrics",
            "warning",
            f"the kubelet refused /metrics with HTTP {metrics_status}",
            "401: the kubelet does not trust the client certificate's CA (its clientCAFile). "
            "403: the API server's authorisation (SubjectAccessReview) does not allow the "
            "certificate's user nodes/metrics. PLEG and runtime metrics were not checked.",
            "Use a client certificate signed by the cluster CA whose user may get nodes/metrics "
            "(apiserver-kubelet-client is bound to system:kubelet-api-admin by kubeadm).",
            metrics_status,
        )
    if metrics_status != 200:
        detail = f"HTTP {metrics_status}" if metrics_status and metrics_status > 0 else "no answer"
        return finding(
            "kubelet.metrics",
            "warning",
            f"the kubelet's /metrics could not be read ({detail})",
            "PLEG and runtime metrics were not checked.",
            "Check that the kubelet listens on its port (10250) on this node.",
            metrics_status,
        )
    return None


def evaluate(
    metrics_text,
    healthz_status,
    now,
    healthz_body=None,
    metrics_status=200,
    authenticated=True,
    pleg_threshold=PLEG_THRESHOLD,
    pleg_warn=PLEG_WARN,
    relist_warn=RELIST_WARN,
):
    """Findings for one kubelet: /healthz, then PLEG and runtime errors from /metrics."""
    findings = [healthz_finding(healthz_status, healthz_body)]
    access = metrics_access_finding(metrics_status, authenticated)
    if access is not None:
        findings.append(access)
        return findings
    try:
        samples = parse_metrics(metrics_text)
        reference = _to_epoch(now)
    except MetricsError as exc:
        findings.append(
            finding(
                "kubelet.metrics",
                "warning",
                "the kubelet's metrics could not be evaluated",
                f"PLEG health is unknown: {exc}.",
                "Fix the cause named above and run the doctor again.",
            )
        )
        return findings
    findings.append(last_seen_finding(samples, reference, float(pleg_threshold), float(pleg_warn)))
    findings.append(relist_finding(samples, float(relist_warn)))
    findings.append(discard_finding(samples))
    findings.append(runtime_errors_finding(samples))
    return findings


def worst(findings):
    """The most severe severity among findings (``ok`` for none)."""
    level = 0
    for item in findings:
        level = max(level, SEVERITIES.index(item["severity"]))
    return SEVERITIES[level]
