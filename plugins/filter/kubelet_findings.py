# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.kubelet_findings`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: kubelet_findings
short_description: Judge a kubelet's health and PLEG from its /healthz answer and /metrics text
version_added: 0.1.0
description:
  - Turns what a node's kubelet answered into findings, each with a severity (C(ok),
    C(warning), C(critical)), a summary, what it means and what to do.
  - C(/healthz) other than HTTP 200 C(ok) is critical.
  - C(kubelet_pleg_last_seen_seconds) is the Unix time of PLEG's last relist. Its age against
    O(now) at or past O(pleg_threshold) (the kubelet's own 3 minutes) is critical, the node's
    "PLEG is not healthy"; past O(pleg_warn) a warning.
  - C(kubelet_pleg_relist_duration_seconds) is a histogram; its p50, p90 and p99 are computed
    from the buckets as Prometheus' C(histogram_quantile) does. A p99 above O(relist_warn) is a
    warning, a p50 above it critical.
  - C(kubelet_pleg_discard_events) above zero, and any C(kubelet_runtime_operations_errors_total)
    by C(operation_type), are warnings (both count since the kubelet started).
  - The text is parsed with the C(prometheus_client) Python package, which the controller needs;
    without it the metrics finding says so instead of failing.
  - Runs on the controller; the health role fetches C(/metrics) on the node with
    M(ansible.builtin.uri).
options:
  _input:
    description: The kubelet's C(/metrics) answer, Prometheus text format.
    type: str
    required: true
  healthz_status:
    description: HTTP status of C(/healthz); C(-1) or 0 when nothing answered.
    type: int
    required: true
  now:
    description:
      - The reference time for the PLEG age, as Unix seconds or as an HTTP date.
      - Pass the C(Date) header of the C(/metrics) answer, so the node's clock is the reference.
    type: raw
    required: true
  healthz_body:
    description: The body of the C(/healthz) answer, C(ok) when healthy.
    type: str
  metrics_status:
    description: HTTP status of C(/metrics); 401 and 403 mean the client certificate was refused.
    type: int
    default: 200
  authenticated:
    description: False when the node had no client certificate, so C(/metrics) was not asked.
    type: bool
    default: true
  pleg_threshold:
    description: Seconds since PLEG's last relist at which it is unhealthy.
    type: float
    default: 180
  pleg_warn:
    description: Seconds since PLEG's last relist that already deserve a warning.
    type: float
    default: 30
  relist_warn:
    description: Relist duration in seconds (the relist period is 1 s) above which relists are slow.
    type: float
    default: 1.0
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Judge the kubelet's PLEG
  ansible.builtin.debug:
    msg: >-
      {{ metrics.content | prodgrade.kubernetes.kubelet_findings(healthz.status, metrics.date,
                                                                 healthz_body=healthz.content) }}
"""

RETURN = r"""
_value:
  description:
    - One finding per check, in this order. C(kubelet.healthz); then either C(kubelet.metrics)
      (why the metrics were not evaluated) or C(kubelet.pleg_last_seen),
      C(kubelet.pleg_relist_duration), C(kubelet.pleg_discard_events) and
      C(kubelet.runtime_operation_errors).
  type: list
  elements: dict
  contains:
    check:
      description: The check's name.
      type: str
    severity:
      description: C(ok), C(warning) or C(critical).
      type: str
    summary:
      description: What was seen, with the values.
      type: str
    meaning:
      description: What it means for the node.
      type: str
    action:
      description: What to do.
      type: str
    value:
      description: The value judged (age in seconds, quantiles, counts).
      type: raw
"""

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.kubelet_health import (  # noqa: E402
    PLEG_THRESHOLD,
    PLEG_WARN,
    RELIST_WARN,
    evaluate,
)


def kubelet_findings(
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
    return evaluate(
        metrics_text,
        int(healthz_status),
        now,
        healthz_body=healthz_body,
        metrics_status=int(metrics_status),
        authenticated=bool(authenticated),
        pleg_threshold=float(pleg_threshold),
        pleg_warn=float(pleg_warn),
        relist_warn=float(relist_warn),
    )


class FilterModule:
    def filters(self):
        return {"kubelet_findings": kubelet_findings}
