"""TLS end to end: the real daemon listening with a certificate made at test time, the real client and CLI.

The certificate (a throwaway CA, and a daemon certificate it signed for localhost / 127.0.0.1) comes from
the ``cryptography`` package, else the ``openssl`` command; with neither the tests skip.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from lipsync_cli.main import main as lipsync_main
from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.client import ClientError, LipsyncClient
from daemon_harness import start_daemon


def make_certificates_cryptography(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(common_name: str, key, issuer: x509.Name, signer, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    pem = serialization.Encoding.PEM
    for name in ("ca", "other_ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"lipsync test {name}")])
        ca = certificate(f"lipsync test {name}", key, subject, key, True)
        (folder / f"{name}.pem").write_bytes(ca.public_bytes(pem))
        if name == "ca":
            daemon_key = ec.generate_private_key(ec.SECP256R1())
            cert = certificate("lipsync-daemon", daemon_key, subject, key, False)
            (folder / "daemon.pem").write_bytes(cert.public_bytes(pem))
            (folder / "daemon.key").write_bytes(daemon_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make_certificates_openssl(folder: Path) -> None:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for name in ("ca", "other_ca"):
        openssl("req", "-x509", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1",
                "-subj", f"/CN=lipsync test {name}", "-addext", "basicConstraints=critical,CA:TRUE")
    openssl("req", *new_key, "-keyout", "daemon.key", "-out", "daemon.csr", "-subj", "/CN=lipsync-daemon")
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n")
    openssl("x509", "-req", "-in", "daemon.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "daemon.pem", "-days", "1", "-extfile", "san.cnf")


def _available() -> dict[str, Callable[[Path], None]]:
    makers = {}
    try:
        import cryptography  # noqa: F401
        makers["cryptography"] = make_certificates_cryptography
    except ImportError:
        pass
    if shutil.which("openssl"):
        makers["openssl"] = make_certificates_openssl
    return makers


MAKERS = _available()
NO_MAKER = "needs the 'cryptography' package or the 'openssl' command to make a test certificate"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MAKERS:
        pytest.skip(NO_MAKER)
    folder = tmp_path_factory.mktemp("tls")
    next(iter(MAKERS.values()))(folder)
    return folder


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory: pytest.TempPathFactory, media_root: Path, certs: Path) -> Iterator[tuple[str, str]]:
    """(address, token) of an in-process daemon listening on 127.0.0.1 with TLS only."""
    running, plain = start_daemon(tmp_path_factory.mktemp("tls-daemon"), media_root,
                                  tls_cert=str(certs / "daemon.pem"), tls_key=str(certs / "daemon.key"))
    plain.close()
    yield running.addresses[0], running.token
    running.stop(0)


@pytest.mark.parametrize("maker", ["cryptography", "openssl"])
def test_each_certificate_maker_gives_a_chain_grpc_accepts(maker: str, tmp_path: Path) -> None:
    if maker not in MAKERS:
        pytest.skip(NO_MAKER.replace("'cryptography' package or the 'openssl' command", repr(maker)))
    MAKERS[maker](tmp_path)
    server = grpc.server(futures.ThreadPoolExecutor(1))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    key, chain = (tmp_path / "daemon.key").read_bytes(), (tmp_path / "daemon.pem").read_bytes()
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, chain)]))
    server.start()
    try:
        root = grpc.ssl_channel_credentials((tmp_path / "ca.pem").read_bytes())
        with grpc.secure_channel(f"localhost:{port}", root) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(0).wait()


def test_tls_client_with_the_ca_submits_and_renders(tls_daemon, certs: Path, media_root: Path, tmp_path: Path) -> None:
    address, token = tls_daemon
    with LipsyncClient(address, token, tls_ca=certs / "ca.pem", timeout_s=20) as client:
        assert client.tls
        assert client.health() == "SERVING"
        job = client.submit(media_root / "tiny.mp4", media_root / "dub.wav")
        final = client.wait(job.id, 120)  # WatchJob streams over TLS too
        assert final.state == pb.SUCCEEDED, final.error.message
        fetched = client.download(tmp_path / "take.mp4", job_id=job.id)  # and Download's chunks
        assert fetched.read_bytes() == Path(final.result.output_path).read_bytes()


def test_tls_through_the_cli_flag(tls_daemon, certs: Path, capsys) -> None:
    address, token = tls_daemon
    code = lipsync_main(["jobs", "--json", "--daemon", address, "--token", token, "--tls-ca", str(certs / "ca.pem")])
    out = capsys.readouterr().out
    assert code == 0 and all(json.loads(line)["id"] for line in out.splitlines())


def test_plaintext_client_fails_clearly(tls_daemon) -> None:
    address, token = tls_daemon
    with LipsyncClient(address, token, retries=0, timeout_s=10) as client:
        for call in (client.health, client.list):
            with pytest.raises(ClientError) as info:
                call()
            assert info.value.code == "UNAVAILABLE"
            assert "if the daemon listens with TLS (tls_cert), pass its CA certificate with --tls-ca" in str(info.value)


def test_a_certificate_from_another_ca_is_refused(tls_daemon, certs: Path) -> None:
    address, token = tls_daemon
    with LipsyncClient(address, token, tls_ca=certs / "other_ca.pem", retries=0, timeout_s=10) as client:
        with pytest.raises(ClientError) as info:
            client.list()
    assert info.value.code == "UNAVAILABLE"
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) and "signed by the --tls-ca certificate" in str(info.value)


def test_a_bad_ca_file_is_named(tmp_path: Path, certs: Path) -> None:
    with pytest.raises(ClientError, match="cannot read the TLS CA certificate .*missing.pem"):
        LipsyncClient("127.0.0.1:1", "t", tls_ca=tmp_path / "missing.pem")
    (tmp_path / "key.pem").write_bytes((certs / "daemon.key").read_bytes())
    with pytest.raises(ClientError, match="holds no PEM certificate"):
        LipsyncClient("127.0.0.1:1", "t", tls_ca=tmp_path / "key.pem")
    unix = LipsyncClient("unix:/nonexistent.sock", "t", tls_ca=certs / "ca.pem")  # the unix socket is plain
    assert not unix.tls
    unix.close()
