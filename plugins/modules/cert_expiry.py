#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cert_expiry
short_description: Report when every certificate and kubeconfig certificate on a host expires
version_added: 0.1.0
description:
  - Finds the PEM certificates (C(*.crt), C(*.pem)) and kubeconfigs (C(*.conf)) under the given
    paths and reports, for each certificate, its subject, its expiry date and the days left.
  - Certificates embedded in kubeconfigs (C(client-certificate-data) and
    C(certificate-authority-data)) are reported with the kubeconfig's path and the field name.
  - Reads only; needs no Python package beyond the standard library on the host.
options:
  paths:
    description: Files or directories to scan; directories are searched recursively.
    type: list
    elements: path
    default: [/etc/kubernetes]
  warn_days:
    description: A certificate expiring within this many days has status C(expiring).
    type: int
    default: 30
attributes:
  check_mode:
    description: Reads only, so check mode runs it as usual.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
  platform:
    description: Any POSIX host.
    platforms: posix
    support: full
notes:
  - Paths that do not exist are skipped and listed in RV(missing).
  - A file that looks like a certificate but cannot be read is reported with status C(unreadable)
    and the reason, so a corrupt certificate is never silently skipped.
seealso:
  - name: Certificate management with kubeadm
    description: Where kubeadm keeps certificates and how long they are valid.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Days to expiry of every Kubernetes certificate on the host
  prodgrade.kubernetes.cert_expiry:
  register: certs

- name: Fail when any certificate has expired
  ansible.builtin.assert:
    that: certs.summary.expired == 0

- name: Check etcd's certificates only, warning 60 days ahead
  prodgrade.kubernetes.cert_expiry:
    paths: [/etc/kubernetes/pki/etcd]
    warn_days: 60
"""

RETURN = r"""
certificates:
  description: One entry per certificate found, soonest expiry first.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file holding the certificate.
      type: str
      sample: /etc/kubernetes/pki/apiserver.crt
    source:
      description: C(file), or the kubeconfig field the certificate was embedded in.
      type: str
      sample: client-certificate-data
    subject:
      description: The subject's common name and organisations, as C(CN=...,O=...).
      type: str
      sample: CN=system:node:worker-1,O=system:nodes
    not_after:
      description: Expiry, ISO 8601 in UTC; null when unreadable.
      type: str
      sample: "2027-11-23T05:00:00+00:00"
    days_left:
      description: Whole days until expiry (negative once expired); null when unreadable.
      type: int
      sample: 364
    status:
      description: C(ok), C(expiring) (within O(warn_days)), C(expired) or C(unreadable).
      type: str
      sample: ok
    error:
      description: Why the certificate could not be read; only with status C(unreadable).
      type: str
summary:
  description: How many certificates have each status.
  returned: always
  type: dict
  sample: {ok: 21, expiring: 1, expired: 0, unreadable: 0}
missing:
  description: Requested paths that do not exist.
  returned: always
  type: list
  elements: str
"""

import datetime  # noqa: E402
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.x509_der import (  # noqa: E402
    CertificateError,
    kubeconfig_certificates,
    parse_certificate,
    pem_certificates,
)

CERT_SUFFIXES = (".crt", ".pem")
KUBECONFIG_SUFFIXES = (".conf",)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def candidate_files(paths):
    found, missing = [], []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(
                    os.path.join(root, name)
                    for name in sorted(files)
                    if name.endswith(CERT_SUFFIXES + KUBECONFIG_SUFFIXES)
                )
        else:
            missing.append(path)
    return found, missing


def describe(path, source, der, now, warn_days):
    entry = {"path": path, "source": source}
    try:
        info = parse_certificate(der)
    except CertificateError as exc:
        entry.update(subject=None, not_after=None, days_left=None)
        entry.update(status="unreadable", error=str(exc))
        return entry
    days_left = (info["not_after"] - now).days
    if info["not_after"] <= now:
        status = "expired"
    elif days_left < warn_days:
        status = "expiring"
    else:
        status = "ok"
    subject = ",".join(
        [f"CN={info['common_name']}"] + [f"O={org}" for org in info["organizations"]]
    )
    entry.update(
        subject=subject,
        not_after=info["not_after"].isoformat(),
        days_left=days_left,
        status=status,
    )
    return entry


def unreadable(path, error):
    return {"path": path, "source": "file", "subject": None, "not_after": None,
            "days_left": None, "status": "unreadable", "error": error}  # fmt: skip


def scan(paths, warn_days, now):
    files, missing = candidate_files(paths)
    certificates = []
    for path in files:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            certificates.append(unreadable(path, str(exc)))
            continue
        try:
            if path.endswith(KUBECONFIG_SUFFIXES):
                found = kubeconfig_certificates(data)
            else:
                found = [("file", der) for der in pem_certificates(data)]
        except CertificateError as exc:
            certificates.append(unreadable(path, str(exc)))
            continue
        certificates.extend(describe(path, source, der, now, warn_days) for source, der in found)
    certificates.sort(key=lambda c: (c["days_left"] is not None, c["days_left"] or 0, c["path"]))
    summary = {status: 0 for status in ("ok", "expiring", "expired", "unreadable")}
    for cert in certificates:
        summary[cert["status"]] += 1
    return certificates, summary, missing


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": ["/etc/kubernetes"]},
            "warn_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    certificates, summary, missing = scan(
        module.params["paths"], module.params["warn_days"], utcnow()
    )
    module.exit_json(changed=False, certificates=certificates, summary=summary, missing=missing)


if __name__ == "__main__":
    main()
