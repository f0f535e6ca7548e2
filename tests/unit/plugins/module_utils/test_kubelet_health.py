# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kubelet's PLEG judged from /metrics text in the kubelet's own exposition format.

The fixtures are excerpts of a kubelet 1.32 /metrics answer (HELP/TYPE lines with the
component-base ``[ALPHA]`` marker, the relist histogram's default buckets 0.005 ... 10 s):
healthy, a stalled relist (last seen 250 s before REFERENCE, slow relists, failed runtime
operations) and discarded PLEG events.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.filter.kubelet_findings import (
    kubelet_findings,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils import kubelet_health
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.kubelet_health import (
    evaluate,
    histogram_quantile,
    parse_metrics,
    relist_quantiles,
    worst,
)

FIXTURES = Path(__file__).parent / "fixtures" / "kubelet_metrics"
# kubelet_pleg_last_seen_seconds of the healthy and discard fixtures.
LAST_SEEN = 1764001234.5678
REFERENCE = LAST_SEEN + 0.8


def fixture(name):
    return (FIXTURES / f"{name}.prom").read_text()


def by_check(findings):
    return {f["check"]: f for f in findings}


def test_fixtures_parse_with_the_kubelets_metric_types():
    families = parse_metrics(fixture("healthy"))
    names = set(families)
    assert {
        "kubelet_pleg_last_seen_seconds",
        "kubelet_pleg_relist_duration_seconds",
        "kubelet_pleg_discard_events",
        "kubelet_runtime_operations",
    } <= names
    buckets = [
        s for s in families["kubelet_pleg_relist_duration_seconds"] if s[0].endswith("_bucket")
    ]
    assert [s[1]["le"] for s in buckets][-1] == "+Inf"
    assert len(buckets) == 12


def test_histogram_quantile_interpolates_like_prometheus():
    buckets = [(0.1, 10), (0.5, 30), (1.0, 40), (math.inf, 40)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * (20 - 10) / 20)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.1 * 10 / 10)
    # A rank in +Inf returns the highest finite bound; no observations give None.
    assert histogram_quantile(0.99, [(1.0, 1), (math.inf, 10)]) == 1.0
    assert histogram_quantile(0.5, [(1.0, 0), (math.inf, 0)]) is None
    assert histogram_quantile(0.5, [(1.0, 3)]) is None


def test_relist_quantiles_of_the_healthy_kubelet():
    q = relist_quantiles(parse_metrics(fixture("healthy")))
    assert q["count"] == 86400
    assert q["p50"] == pytest.approx(0.01 + 0.015 * (43200 - 40211) / (82034 - 40211))
    assert q["p99"] < 0.05
    assert q["mean"] == pytest.approx(1251.0937261409997 / 86400)


def test_healthy_kubelet_is_all_ok():
    findings = evaluate(fixture("healthy"), 200, REFERENCE, healthz_body="ok")
    assert [f["check"] for f in findings] == [
        "kubelet.healthz",
        "kubelet.pleg_last_seen",
        "kubelet.pleg_relist_duration",
        "kubelet.pleg_discard_events",
        "kubelet.runtime_operation_errors",
    ]
    assert {f["severity"] for f in findings} == {"ok"}
    assert by_check(findings)["kubelet.pleg_last_seen"]["value"] == pytest.approx(0.8)
    for item in findings:
        assert item["summary"] and item["meaning"] and item["action"]


def test_stalled_relist_is_critical_and_names_the_runtime():
    findings = by_check(evaluate(fixture("stalled_relist"), 200, REFERENCE, healthz_body="ok"))
    last_seen = findings["kubelet.pleg_last_seen"]
    assert last_seen["severity"] == "critical"
    assert last_seen["value"] == pytest.approx(250.8)
    assert "PLEG is not healthy" in last_seen["summary"]
    assert "runc init" in last_seen["action"]
    relist = findings["kubelet.pleg_relist_duration"]
    assert relist["severity"] == "warning"
    assert 1.0 < relist["value"]["p99"] < 2.5
    assert relist["value"]["p50"] < 0.025
    errors = findings["kubelet.runtime_operation_errors"]
    assert errors["severity"] == "warning"
    assert errors["value"] == {
        "container_status": 3,
        "create_container": 2,
        "start_container": 14,
        "stop_container": 5,
    }
    assert "start_container 14/23" in errors["summary"]
    assert worst(findings.values()) == "critical"


def test_an_age_between_warn_and_threshold_is_a_warning():
    findings = by_check(evaluate(fixture("healthy"), 200, LAST_SEEN + 60))
    assert findings["kubelet.pleg_last_seen"]["severity"] == "warning"
    assert (
        by_check(evaluate(fixture("healthy"), 200, LAST_SEEN + 60, pleg_warn=90))[
            "kubelet.pleg_last_seen"
        ]["severity"]
        == "ok"
    )


def test_most_relists_slow_is_critical():
    # Only 100 of 86400 relists within 2.5 s: the buckets up to 2.5 hold 100 each.
    text = fixture("healthy")
    slow = "\n".join(
        line
        if not line.startswith("kubelet_pleg_relist_duration_seconds_bucket")
        or 'le="+Inf"' in line
        or 'le="10"' in line
        or 'le="5"' in line
        else line.rsplit(" ", 1)[0] + " 100"
        for line in text.splitlines()
    )
    relist = by_check(evaluate(slow, 200, REFERENCE))["kubelet.pleg_relist_duration"]
    assert relist["severity"] == "critical"
    assert relist["value"]["p50"] > 2.5


def test_discarded_events_are_a_warning():
    findings = by_check(evaluate(fixture("discard_events"), 200, REFERENCE, healthz_body="ok"))
    discard = findings["kubelet.pleg_discard_events"]
    assert discard["severity"] == "warning"
    assert discard["value"] == 37
    assert "37" in discard["summary"]
    assert findings["kubelet.pleg_last_seen"]["severity"] == "ok"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, "[-]syncloop failed: reason withheld\nhealthz check failed"), (-1, ""), (200, "no")],
)
def test_healthz_not_ok_is_critical(status, body):
    finding = evaluate(fixture("healthy"), status, REFERENCE, healthz_body=body)[0]
    assert finding["check"] == "kubelet.healthz"
    assert finding["severity"] == "critical"


def test_without_a_client_certificate_the_metrics_are_not_judged():
    findings = evaluate("", 200, REFERENCE, healthz_body="ok", authenticated=False)
    assert [f["check"] for f in findings] == ["kubelet.healthz", "kubelet.metrics"]
    assert "cannot authenticate" in findings[1]["summary"]
    assert findings[1]["severity"] == "warning"


@pytest.mark.parametrize(
    ("status", "text"), [(401, "HTTP 401"), (403, "HTTP 403"), (-1, "no answer")]
)
def test_refused_or_unanswered_metrics(status, text):
    finding = evaluate("Unauthorized", 200, REFERENCE, metrics_status=status)[1]
    assert finding["check"] == "kubelet.metrics"
    assert text in finding["summary"]


def test_now_as_the_http_date_of_the_answer():
    findings = by_check(evaluate(fixture("stalled_relist"), 200, "Mon, 24 Nov 2025 16:20:35 GMT"))
    # 16:20:35 UTC is 1764001235: the stalled fixture's relist is 250.4 s older.
    assert findings["kubelet.pleg_last_seen"]["value"] == pytest.approx(250.4322, abs=1e-3)


def test_text_that_is_not_prometheus_is_a_warning_not_an_error():
    findings = evaluate("<html>not metrics</html>", 200, REFERENCE)
    assert findings[1]["check"] == "kubelet.metrics"
    assert "not Prometheus text" in findings[1]["meaning"]


def test_without_prometheus_client_the_report_says_what_to_install(monkeypatch):
    monkeypatch.setattr(kubelet_health, "text_string_to_metric_families", None)
    findings = evaluate(fixture("healthy"), 200, REFERENCE)
    assert "prometheus-client" in findings[1]["meaning"]


def test_missing_pleg_metrics_are_named():
    findings = by_check(evaluate("# TYPE go_goroutines gauge\ngo_goroutines 3\n", 200, REFERENCE))
    assert findings["kubelet.pleg_last_seen"]["severity"] == "warning"
    assert "not exposed" in findings["kubelet.pleg_relist_duration"]["summary"]


def test_filter_casts_ansible_values():
    findings = kubelet_findings(fixture("healthy"), "200", str(REFERENCE), healthz_body="ok")
    assert {f["severity"] for f in findings} == {"ok"}
