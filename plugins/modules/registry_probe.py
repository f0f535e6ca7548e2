#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: registry_probe
short_description: Check from a node that registries present a certificate the runtimes accept
version_added: 0.1.0
description:
  - Connects from the node to every registry given, in one call, and makes a TLS handshake
    that trusts only the CA given for it. When the handshake fails it reads the registry's
    certificate without verifying it and says why, with one reason and one message per
    registry. RV(results[].reason) is one of the following.
  - V(no_san) when the certificate has no subjectAltName extension, so the name is only in the
    CommonName. The Go programs that pull images (containerd, CRI-O, Docker, the kubelet) ignore
    the CommonName since Go 1.15, and Go 1.17 removed the C(GODEBUG=x509ignoreCN=0) switch, so
    no runtime flag can accept such a certificate. It must be reissued with SANs.
  - V(name_mismatch) when the host name or address is not among the subjectAltNames, which are
    listed in the message. V(expired) and V(not_yet_valid) for a certificate outside its
    validity period (the registry's own or one above it in the chain), with the dates.
    V(untrusted) when the chain does not lead to the given CA, naming the certificate's issuer
    and the CA given.
  - V(unreachable) when no TCP connection can be made (the name does not resolve, the port
    refuses, or nothing answers). V(tls_error) for a connection without a TLS session, for
    example a plain-HTTP port or a registry that refuses the client certificate. V(bad_ca) when
    the CA or client certificate given cannot be read.
  - With O(check_api), after a good handshake C(GET /v2/) is sent and its status and
    authentication challenge are returned. A registry answers V(200) or V(401) (with
    C(WWW-Authenticate)); any other status gives V(no_registry_api).
  - Verification follows Go, not OpenSSL's defaults, where they differ. The CommonName never
    counts as a name, every certificate given as CA is a trust anchor (an intermediate is
    enough), and TLS 1.2 is the minimum.
  - Reads only. Uses the Python standard library only, so the node needs no package.
options:
  registries:
    description:
      - The registries to probe, and the mirrors the node will pull from, one item each.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description:
          - The registry as it appears in image references, C(host), C(host:port) or
            C([IPv6]:port), without scheme or path. Port 443 when none is given.
        type: str
        required: true
      ca:
        description:
          - The PEM text of the CA certificate (or several) to trust for this registry.
          - When empty, the node's system CA store is used.
        type: str
      client_cert:
        description:
          - The PEM text of a client certificate, for registries that demand one.
          - Written to a private temporary file for the handshake and removed afterwards.
        type: str
      client_key:
        description:
          - The PEM text of the private key of O(registries[].client_cert). Never logged.
        type: str
      skip_verify:
        description:
          - The registry is configured to skip certificate verification. A problem is then
            reported and warned about but does not count in RV(failed) and never fails the
            module, and C(GET /v2/) is tried over an unverified connection.
        type: bool
        default: false
  timeout:
    description: Seconds allowed for each connection, handshake and answer.
    type: float
    default: 5.0
  check_api:
    description: After a good handshake, send C(GET /v2/) and report the answer.
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail when any registry not marked O(registries[].skip_verify) has a problem, with
        every such registry's message. Otherwise only report.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads only, so check mode runs it as usual.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
  platform:
    description: Any POSIX host with Python 3.9 or later.
    platforms: posix
    support: full
notes:
  - The probe connects directly. A proxy in the environment (C(HTTPS_PROXY)) is not used,
    while the container runtimes would use it.
  - Registries are probed one after another. A registry that does not answer costs up to
    O(timeout) seconds, one that fails verification three connections.
  - No credentials are sent. C(GET /v2/) answered V(401) shows that a registry that wants
    credentials answers; RV(results[].api.auth_scheme) tells V(basic) from V(bearer).
seealso:
  - name: containerd registry configuration (hosts.toml)
    description: How containerd is told which CA to trust for a registry.
    link: https://github.com/containerd/containerd/blob/main/docs/hosts.md
  - name: Go 1.17 release notes
    description: The GODEBUG=x509ignoreCN=0 switch was removed.
    link: https://go.dev/doc/go1.17#crypto/x509
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Probe the private registry and its mirror from every node before configuring them
  prodgrade.kubernetes.registry_probe:
    registries:
      - host: registry.example.internal:5000
        ca: "{{ lookup('ansible.builtin.file', 'pki/registry-ca.crt') }}"
      - host: mirror.example.internal
        ca: "{{ lookup('ansible.builtin.file', 'pki/registry-ca.crt') }}"
    fail_on_error: true

- name: Probe a registry that demands a client certificate, and keep the answer
  prodgrade.kubernetes.registry_probe:
    registries:
      - host: secure-registry.example.internal
        ca: "{{ registry_ca_pem }}"
        client_cert: "{{ node_registry_cert_pem }}"
        client_key: "{{ node_registry_key_pem }}"
  register: probe

- name: Show why each registry failed
  ansible.builtin.debug:
    msg: "{{ probe.results | rejectattr('ok') | map(attribute='message') | list }}"
"""

RETURN = r"""
results:
  description: One entry per registry, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The registry as given.
      type: str
      sample: registry.example.internal:5000
    hostname:
      description: The name or address connected to and checked against the SANs.
      type: str
      sample: registry.example.internal
    port:
      description: The port connected to.
      type: int
      sample: 5000
    ok:
      description: Whether the certificate is trusted, names the host and is valid now, and the
        registry API answers (when O(check_api)).
      type: bool
      sample: false
    reason:
      description: >-
        V(ok), V(no_san), V(name_mismatch), V(expired), V(not_yet_valid), V(untrusted),
        V(unreachable), V(tls_error), V(bad_ca) or V(no_registry_api). With several problems,
        the first of V(no_san), V(name_mismatch), V(expired), V(not_yet_valid), V(untrusted).
      type: str
      sample: no_san
    problems:
      description: Every problem found, most important first; empty when V(ok).
      type: list
      elements: str
      sample: [no_san, untrusted]
    message:
      description: What is wrong and how to fix it, in sentences, starting with the host.
      type: str
      sample: >-
        reg.openpie.local: Its certificate (CN=reg.openpie.local) has no subjectAltName
        extension: the name is only in the CommonName. ...
    skip_verify:
      description: The O(registries[].skip_verify) given.
      type: bool
      sample: false
    fatal:
      description: Whether this registry counts as failed (a problem without skip_verify).
      type: bool
      sample: true
    certificate:
      description: The registry's certificate, as read from the node; null when none was read.
      type: dict
      contains:
        subject:
          description: The subject, as C(CN=...,O=...).
          type: str
        issuer:
          description: The issuer, as C(CN=...,O=...).
          type: str
        subject_alt_names:
          description: C(dns) and C(ip) lists; null when the certificate has no SAN extension.
          type: dict
        not_before:
          description: Start of validity, ISO 8601 in UTC.
          type: str
        not_after:
          description: End of validity, ISO 8601 in UTC.
          type: str
    api:
      description: The answer to C(GET /v2/); null when not asked or not reached.
      type: dict
      contains:
        status:
          description: The HTTP status; 200 or 401 from a registry.
          type: int
          sample: 401
        auth_scheme:
          description: The scheme of C(WWW-Authenticate) in lower case (C(basic), C(bearer)).
          type: str
          sample: basic
        realm:
          description: The C(realm) of the challenge (a token service URL for C(bearer)).
          type: str
        service:
          description: The C(service) of a C(bearer) challenge.
          type: str
        api_version:
          description: The C(Docker-Distribution-API-Version) header, if sent.
          type: str
          sample: registry/2.0
failed_hosts:
  description: The hosts of the registries that count as failed.
  returned: always
  type: list
  elements: str
  sample: [reg.openpie.local]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.registry_tls import (  # noqa: E402
    parse_address,
    probe,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "registries": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "host": {"type": "str", "required": True},
                    "ca": {"type": "str"},
                    "client_cert": {"type": "str"},
                    "client_key": {"type": "str", "no_log": True},
                    "skip_verify": {"type": "bool", "default": False},
                },
            },
            "timeout": {"type": "float", "default": 5.0},
            "check_api": {"type": "bool", "default": True},
            "fail_on_error": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    registries = module.params["registries"]
    bad = []
    for item in registries:
        try:
            parse_address(item["host"])
        except ValueError as exc:
            bad.append(str(exc))
        if bool(item["client_cert"]) != bool(item["client_key"]):
            bad.append(f"{item['host']}: give both client_cert and client_key, or neither")
    if bad:
        module.fail_json(msg="; ".join(bad))

    results = []
    for item in registries:
        result = probe(
            item["host"],
            ca_pem=item["ca"] or None,
            client_cert=item["client_cert"] or None,
            client_key=item["client_key"] or None,
            timeout=module.params["timeout"],
            check_api=module.params["check_api"],
            api_when_unverified=item["skip_verify"],
        )
        result["skip_verify"] = item["skip_verify"]
        result["fatal"] = not result["ok"] and not item["skip_verify"]
        if not result["ok"] and item["skip_verify"]:
            module.warn(
                f"{item['host']} is marked skip_verify, so the runtimes will not check its "
                f"certificate: {result['message']}"
            )
        results.append(result)

    failed = [r for r in results if r["fatal"]]
    if failed and module.params["fail_on_error"]:
        module.fail_json(
            msg=" ".join(r["message"] for r in failed),
            results=results,
            failed_hosts=[r["host"] for r in failed],
        )
    module.exit_json(changed=False, results=results, failed_hosts=[r["host"] for r in failed])


if __name__ == "__main__":
    main()
