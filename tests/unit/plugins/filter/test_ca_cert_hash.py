"""The discovery pin equals the SHA-256 of the SPKI as cryptography (and openssl) compute it."""

import datetime
import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.prodgrade.kubernetes.plugins.filter.ca_cert_hash import ca_cert_hash


def ca_pem(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048)],
    ids=["ecdsa", "rsa"],
)
def test_pin_is_sha256_of_spki(key):
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ca_cert_hash(ca_pem(key)) == "sha256:" + hashlib.sha256(spki).hexdigest()


def test_not_a_certificate():
    with pytest.raises(AnsibleFilterError, match="no PEM certificate"):
        ca_cert_hash("hello")
