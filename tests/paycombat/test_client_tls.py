"""The sync client verifies PayCombat's certificate against the CA bundle ``requests`` reads itself
(``REQUESTS_CA_BUNDLE``), once, when the client is built; an unknown certificate is a typed error."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.models import PaymentRequest
from tests.paycombat.test_client_environment import _ForwardProxy

REQUEST = PaymentRequest(amount=Decimal("10.00"), currency="USD", country_code="US", description="tls")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def https_paycombat(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert_file, key_file = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)  # it answers a checkout, as PayCombat
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert_file
    server.shutdown()
    server.server_close()


def test_the_ca_bundle_requests_reads_is_used(
    https_paycombat: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert_file = https_paycombat
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    client = PaycombatClient("snd_tls_xtoken", "snd_tls_sigkey", url, retries=0)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # read when the client was built, not per request
    assert client.create_payment_request(REQUEST).id == "chk_via_proxy"


def test_an_unknown_certificate_is_refused(
    https_paycombat: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = https_paycombat
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = PaycombatClient("snd_tls_xtoken", "snd_tls_sigkey", url, retries=3)
    with pytest.raises(errors.ConnectionFailed):
        client.create_payment_request(REQUEST)  # not sent, so safely retried, and still refused
