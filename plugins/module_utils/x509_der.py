# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the validity and subject of X.509 certificates with the standard library only.

Hosts are not expected to have the ``cryptography`` package, and reporting expiry needs
only a few fields, so this walks the DER structure (RFC 5280, section 4.1) directly:
Certificate -> tbsCertificate -> [version] serial signature issuer validity subject
subjectPublicKeyInfo [issuerUniqueID] [subjectUniqueID] [extensions].

``certificate_details`` adds the issuer, the subject as text and the subjectAltName extension
(RFC 5280, section 4.2.1.6: its dNSName and iPAddress entries), for the registry TLS probe.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re

_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)

_TAG_SEQUENCE = 0x30
_TAG_SET = 0x31
_TAG_OID = 0x06
_TAG_UTC_TIME = 0x17
_TAG_GENERALIZED_TIME = 0x18
_TAG_VERSION = 0xA0
_TAG_EXTENSIONS = 0xA3
_TAG_BOOLEAN = 0x01
_TAG_OCTET_STRING = 0x04
# GeneralName choices (context-specific, primitive) inside subjectAltName.
_TAG_SAN_DNS = 0x82
_TAG_SAN_IP = 0x87

# Attribute types in a subject, by their DER-encoded OID bytes.
_OID_COMMON_NAME = bytes([0x55, 0x04, 0x03])
_OID_ORGANIZATION = bytes([0x55, 0x04, 0x0A])
# id-ce-subjectAltName, 2.5.29.17.
_OID_SUBJECT_ALT_NAME = bytes([0x55, 0x1D, 0x11])
# Short names of the usual attribute types of a distinguished name (2.5.4.x).
_NAME_SHORT = {
    bytes([0x55, 0x04, 0x03]): "CN",
    bytes([0x55, 0x04, 0x06]): "C",
    bytes([0x55, 0x04, 0x07]): "L",
    bytes([0x55, 0x04, 0x08]): "ST",
    bytes([0x55, 0x04, 0x0A]): "O",
    bytes([0x55, 0x04, 0x0B]): "OU",
}


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


def _tbs_fields(der):
    """The tbsCertificate's fields after the optional version: serial, signature, issuer, ..."""
    tag, start, end = _read_tlv(der, 0)
    if tag != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (no outer SEQUENCE)")
    children = _children(der, start, end)
    try:
        tbs_tag, tbs_start, tbs_end = next(children)
    except StopIteration:
        raise CertificateError("not a certificate (no tbsCertificate)") from None
    if tbs_tag != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (no tbsCertificate)")
    fields = list(_children(der, tbs_start, tbs_end))
    if fields and fields[0][0] == _TAG_VERSION:
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject
    if len(fields) < 5 or fields[3][0] != _TAG_SEQUENCE or fields[4][0] != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (fields missing)")
    return fields


def parse_certificate(der):
    """Return ``{not_before, not_after, common_name, organizations}`` of one DER certificate."""
    fields = _tbs_fields(der)
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


def subject_public_key_info(der):
    """The DER bytes (tag and length included) of the certificate's subjectPublicKeyInfo."""
    _, start, _ = _read_tlv(der, 0)
    _, tbs_start, tbs_end = _read_tlv(der, start)
    elements = []
    pos = tbs_start
    while pos < tbs_end:
        tag, _, value_end = _read_tlv(der, pos)
        elements.append((tag, pos, value_end))
        pos = value_end
    if elements and elements[0][0] == _TAG_VERSION:
        elements = elements[1:]
    # serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(elements) < 6 or elements[5][0] != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (no subjectPublicKeyInfo)")
    return bytes(der[elements[5][1] : elements[5][2]])


def _oid_text(raw):
    """Dotted text of a DER-encoded OBJECT IDENTIFIER value."""
    if not raw:
        return ""
    arcs = [raw[0] // 40 if raw[0] < 80 else 2, raw[0] % 40 if raw[0] < 80 else raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)


def _name_text(attributes):
    """A distinguished name as ``CN=...,O=...`` in the certificate's order."""
    parts = (f"{_NAME_SHORT.get(oid) or _oid_text(oid)}={value}" for oid, value in attributes)
    return ",".join(parts)


def _extensions(der, fields):
    """``{oid bytes: extnValue bytes}`` of the certificate's extensions (empty for v1)."""
    found = {}
    for tag, start, end in fields[6:]:
        if tag != _TAG_EXTENSIONS:
            continue
        seq_tag, seq_start, seq_end = _read_tlv(der, start)
        if seq_tag != _TAG_SEQUENCE or seq_end != end:
            raise CertificateError("malformed extensions")
        for ext_tag, ext_start, ext_end in _children(der, seq_start, seq_end):
            parts = list(_children(der, ext_start, ext_end))
            if ext_tag != _TAG_SEQUENCE or not parts or parts[0][0] != _TAG_OID:
                raise CertificateError("malformed extension")
            if len(parts) == 3 and parts[1][0] == _TAG_BOOLEAN:
                parts = [parts[0], parts[2]]
            if len(parts) != 2 or parts[1][0] != _TAG_OCTET_STRING:
                raise CertificateError("malformed extension")
            oid = bytes(der[parts[0][1] : parts[0][2]])
            found[oid] = bytes(der[parts[1][1] : parts[1][2]])
    return found


def _subject_alt_names(value):
    """``{dns: [...], ip: [...]}`` from a subjectAltName extnValue (GeneralNames)."""
    tag, start, end = _read_tlv(value, 0)
    if tag != _TAG_SEQUENCE:
        raise CertificateError("malformed subjectAltName")
    names = {"dns": [], "ip": []}
    for name_tag, name_start, name_end in _children(value, start, end):
        raw = bytes(value[name_start:name_end])
        if name_tag == _TAG_SAN_DNS:
            names["dns"].append(raw.decode("ascii", "replace"))
        elif name_tag == _TAG_SAN_IP:
            if len(raw) not in (4, 16):
                raise CertificateError("malformed iPAddress in subjectAltName")
            names["ip"].append(str(ipaddress.ip_address(raw)))
    return names


def certificate_details(der):
    """Everything ``parse_certificate`` returns, plus the issuer, subject and SANs.

    ``subject_alt_names`` is None when the certificate has no subjectAltName extension at all
    (a CommonName-only certificate), else ``{dns: [...], ip: [...]}`` (other kinds of names,
    such as e-mail addresses and URIs, are left out).
    """
    info = parse_certificate(der)
    fields = _tbs_fields(der)
    if fields[2][0] != _TAG_SEQUENCE:
        raise CertificateError("not a certificate (issuer missing)")
    issuer = _name_attributes(der, fields[2][1], fields[2][2])
    subject = _name_attributes(der, fields[4][1], fields[4][2])
    san = _extensions(der, fields).get(_OID_SUBJECT_ALT_NAME)
    info.update(
        subject=_name_text(subject),
        issuer=_name_text(issuer),
        subject_alt_names=None if san is None else _subject_alt_names(san),
    )
    return info


def pem_blocks(data):
    """Every PEM certificate block in ``data`` (bytes), armour included, newline-terminated."""
    return [match.group(0) + b"\n" for match in _PEM_RE.finditer(data)]


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
