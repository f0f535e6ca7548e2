"""The real main() of prodgrade.kubernetes.registry_probe against TLS servers in this process."""

from __future__ import annotations

import pytest
from module_runner import run_module, run_module_raw, warning_texts
from registry_tls_testlib import DAY, Registry, make_ca, make_leaf, now, refused_port

from ansible_collections.prodgrade.kubernetes.plugins.modules import registry_probe

CA = make_ca("Prodgrade Registry CA")
OTHER_CA = make_ca("Somebody Else CA")
CLIENT = make_leaf(CA, cn="node-1", sans=None, client=True)


@pytest.fixture
def registries():
    """A good registry (answering 401 Basic), a CN-only one, an expired one, an untrusted one."""
    servers = {
        "good": Registry(
            make_leaf(CA), answer=(401, {"WWW-Authenticate": 'Basic realm="Registry Realm"'})
        ),
        "cn_only": Registry(make_leaf(CA, cn="127.0.0.1", sans=None)),
        "expired": Registry(make_leaf(CA, not_before=now() - 90 * DAY, not_after=now() - DAY)),
        "untrusted": Registry(make_leaf(OTHER_CA)),
    }
    for server in servers.values():
        server.__enter__()
    yield {name: server.address() for name, server in servers.items()}
    for server in servers.values():
        server.__exit__(None, None, None)


def item(host, ca=CA, **extra):
    return {"host": host, "ca": ca.pem if ca else None, **extra}


def test_reports_each_registry_in_order(registries):
    hosts = [registries[n] for n in ("good", "cn_only", "expired", "untrusted")]
    result = run_module(registry_probe.main, {"registries": [item(h) for h in hosts]})
    assert result["changed"] is False
    assert "failed" not in result or not result["failed"]
    assert [r["host"] for r in result["results"]] == hosts
    assert [r["reason"] for r in result["results"]] == ["ok", "no_san", "expired", "untrusted"]
    assert [r["fatal"] for r in result["results"]] == [False, True, True, True]
    assert result["failed_hosts"] == hosts[1:]
    good = result["results"][0]
    assert good["api"] == {
        "status": 401,
        "auth_scheme": "basic",
        "realm": "Registry Realm",
        "service": None,
        "api_version": "registry/2.0",
    }
    assert good["certificate"]["subject_alt_names"] == {"dns": ["localhost"], "ip": ["127.0.0.1"]}


def test_fail_on_error_lists_every_failing_registry(registries):
    hosts = [registries[n] for n in ("good", "cn_only", "untrusted")]
    result = run_module(
        registry_probe.main, {"registries": [item(h) for h in hosts], "fail_on_error": True}
    )
    assert result["failed"] is True
    assert registries["cn_only"] in result["msg"]
    assert "no subjectAltName" in result["msg"]
    assert registries["untrusted"] in result["msg"]
    assert "does not lead to the given CA" in result["msg"]
    assert registries["good"] not in result["msg"]
    assert result["failed_hosts"] == hosts[1:]


def test_skip_verify_warns_instead_of_failing(registries):
    result = run_module(
        registry_probe.main,
        {
            "registries": [item(registries["untrusted"], skip_verify=True)],
            "fail_on_error": True,
        },
    )
    assert not result.get("failed")
    (entry,) = result["results"]
    assert entry["reason"] == "untrusted"
    assert entry["fatal"] is False
    assert entry["skip_verify"] is True
    # The registry API is still looked at, over an unverified connection.
    assert entry["api"]["status"] == 200
    (warning,) = warning_texts(result)
    assert "skip_verify" in warning
    assert "does not lead to the given CA" in warning


def test_check_mode_probes_too(registries):
    result = run_module(
        registry_probe.main, {"registries": [item(registries["cn_only"])]}, check_mode=True
    )
    assert result["results"][0]["reason"] == "no_san"
    assert result["changed"] is False


def test_client_key_is_never_printed():
    with Registry(make_leaf(CA), client_ca=CA) as registry:
        result, raw = run_module_raw(
            registry_probe.main,
            {
                "registries": [
                    item(registry.address(), client_cert=CLIENT.pem, client_key=CLIENT.key_pem)
                ]
            },
        )
    assert result["results"][0]["ok"] is True, result["results"][0]["message"]
    body = CLIENT.key_pem.splitlines()[1]
    assert body not in raw


def test_unreachable_and_timeout_option():
    result = run_module(
        registry_probe.main,
        {"registries": [item(f"127.0.0.1:{refused_port()}")], "timeout": 1, "check_api": False},
    )
    (entry,) = result["results"]
    assert entry["reason"] == "unreachable"
    assert entry["fatal"] is True
    assert entry["api"] is None


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ({"host": "https://reg.example.test"}, "is not host, host:port or [IPv6]:port"),
        ({"host": "reg.example.test", "client_cert": CLIENT.pem}, "give both client_cert"),
    ],
)
def test_bad_input_fails_before_any_connection(registry, expected):
    result = run_module(registry_probe.main, {"registries": [registry]})
    assert result["failed"] is True
    assert expected in result["msg"]
    assert "results" not in result


def test_no_ca_uses_the_system_store(registries):
    result = run_module(registry_probe.main, {"registries": [item(registries["good"], ca=None)]})
    assert result["results"][0]["reason"] == "untrusted"
    assert "system CAs" in result["results"][0]["message"]
