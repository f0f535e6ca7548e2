# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the validity and subject of X.509 certificates with the standard library only.

Hosts are not expected to have the ``cryptography`` package, and reporting expiry needs
only a few fields, so this walks the DER structure (RFC 5280, section 4.1) directly:
Certificate -> tbsCertificate -> [version] serial signature issuer validity subject.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re

_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)

_TAG_SEQUENCE = 0x30
_TAG_SET = 0x31
_TAG_OID = 0x06
_TAG_UTC_TIME = 0x17
_TAG_GENERALIZED_TIME = 0x18
_TAG_VERSION = 0xA0

# Attribute types in a subject, by their DER-encoded OID bytes.
_OID_COMMON_NAME = bytes([0x55, 0x04, 0x03])
_OID_ORGANIZATION = bytes([0x55, 0x04, 0x0A])


class CertificateError(ValueError):
    """The bytes are not a certificate this reader understands."""


def _read_tlv(data, pos):
    """Return (tag, value_start, value_end) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise CertificateError("truncated DER element")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise CertificateError("DER element runs past the end")
    return tag, pos, end


def _children(data, start, end):
    pos = start
    while pos < end:
        tag, value_start, value_end = _read_tlv(data, pos)
        yield tag, value_start, value_end
        pos = value_end


def _parse_time(tag, raw):
    text = raw.decode("ascii")
    if tag == _TAG_UTC_TIME:
        # YYMMDDHHMMSSZ; RFC 5280: YY >= 50 is 19YY, else 20YY.
        parsed = datetime.datetime.strptime(text, "%y%m%d%H%M%SZ")
        if parsed.year >= 2050:
            parsed = parsed.replace(year=parsed.year - 100)
    elif tag == _TAG_GENERALIZED_TIME:
        parsed = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise CertificateError("validity time has an unknown type")
    return parsed.replace(tzinfo=datetime.timezone.utc)


def _name_attributes(data, start, end):
    """The attributes of a Name as a list of (oid bytes, text)."""
    attributes = []
    for set_tag, set_start, set_end in _children(data, start, end):
        if set_tag != _TAG_SET:
            raise CertificateError("malformed name")
        for seq_tag, seq_start, seq_end in _children(data, set_start, set_end):
            if seq_tag != _TAG_SEQUENCE:
                raise CertificateError("malformed name attribute")
            parts = list(_children(data, seq_start, seq_end))
            if len(parts) != 2 or parts[0][0] != _TAG_OID:
                raise CertificateError("malformed name attribute")
            oid = bytes(data[parts[0][1] : parts[0][2]])
            value = bytes(data[parts[1][1] : parts[1][2]]).decode("utf-8", "replace")
            attributes.append((oid, value))
    return attributes


def parse_certificate(der):
    """Return ``{not_before, not_after, common_name, organizations}`` of one DER certificate."""
    tag, start, end = _read_tlv(der, 0)
    if tag != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (no outer SEQUENCE)")
    tbs_tag, tbs_start, tbs_end = next(_children(der, start, end))
    if tbs_tag != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (no tbsCertificate)")
    fields = list(_children(der, tbs_start, tbs_end))
    if fields and fields[0][0] == _TAG_VERSION:
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject
    if len(fields) < 5 or fields[3][0] != _TAG_SEQUENCE or fields[4][0] != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (fields missing)")
    times = list(_children(der, fields[3][1], fields[3][2]))
    if len(times) != 2:
        raise CertificateError("malformed validity")
    not_before, not_after = (_parse_time(t, bytes(der[s:e])) for t, s, e in times)
    subject = _name_attributes(der, fields[4][1], fields[4][2])
    common_names = [v for oid, v in subject if oid == _OID_COMMON_NAME]
    return {
        "not_before": not_before,
        "not_after": not_after,
        "common_name": common_names[0] if common_names else "",
        "organizations": [v for oid, v in subject if oid == _OID_ORGANIZATION],
    }


def pem_certificates(data):
    """The DER bytes of every PEM certificate block in ``data`` (bytes)."""
    blocks = []
    for match in _PEM_RE.finditer(data):
        try:
            blocks.append(base64.b64decode(b"".join(match.group(1).split()), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(f"bad base64 in a PEM block: {exc}") from None
    return blocks


# kubeconfig fields that embed a PEM certificate as base64 (one line each in practice).
_KUBECONFIG_FIELD_RE = re.compile(
    rb"^\s*(client-certificate-data|certificate-authority-data):\s*([A-Za-z0-9+/=]+)\s*$",
    re.MULTILINE,
)


def kubeconfig_certificates(data):
    """``[(field, der)]`` for each certificate embedded in a kubeconfig's text."""
    found = []
    for match in _KUBECONFIG_FIELD_RE.finditer(data):
        try:
            pem = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise CertificateError(f"bad base64 in {match.group(1).decode()}") from None
        found.extend((match.group(1).decode(), der) for der in pem_certificates(pem))
    return found
