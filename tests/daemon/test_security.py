"""Auth, the path allow-list, upload limits, socket and token permissions, TLS rule: a real server."""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon._proto import lipsync_pb2_grpc as pb_grpc
from lipsync_daemon.client import ClientError, LipsyncClient
from lipsync_daemon.config import ConfigError, load_config
from daemon_harness import REPO, start_daemon


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_unauthenticated(daemon, token) -> None:
    running, _ = daemon
    channel = grpc.insecure_channel(running.addresses[0])
    stub = pb_grpc.LipsyncStub(channel)
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    calls = [
        lambda: stub.ServerInfo(pb.ServerInfoRequest(), metadata=metadata, timeout=10),
        lambda: stub.ListJobs(pb.ListJobsRequest(), metadata=metadata, timeout=10),
        lambda: list(stub.WatchJob(pb.WatchJobRequest(id="x"), metadata=metadata, timeout=10)),
        lambda: stub.Upload(iter([pb.UploadChunk(data=b"x")]), metadata=metadata, timeout=10),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "token" in info.value.details()
    client = LipsyncClient(running.addresses[0], token or "")
    with pytest.raises(ClientError) as info:
        client.list()
    assert info.value.code == "UNAUTHENTICATED"
    assert client.health() == "SERVING"  # health needs no token
    channel.close()


def test_reflection_lists_the_service_with_a_token(daemon) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    running, _ = daemon
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(running.addresses[0]))
    request = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    reply = next(stub.ServerReflectionInfo(request, metadata=(("authorization", f"Bearer {running.token}"),), timeout=10))
    names = {s.name for s in reply.list_services_response.service}
    assert {"lipsync.v1.Lipsync", "grpc.health.v1.Health"} <= names
    with pytest.raises(grpc.RpcError) as info:
        next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_token_file_is_private(daemon) -> None:
    running, _ = daemon
    assert stat.S_IMODE(running.config.token_path.stat().st_mode) == 0o600
    assert len(running.token) >= 40


@pytest.mark.parametrize("path", [
    "{root}/../etc/passwd", "/etc/passwd", "relative/shot.mp4", "http://example.com/shot.mp4", "{root}/missing.mp4",
])
def test_paths_outside_roots_are_invalid_argument(daemon, media_root: Path, path: str) -> None:
    _, client = daemon
    with pytest.raises(ClientError) as info:
        client.submit_request(_request(path.format(root=media_root), str(media_root / "dub.wav")))
    assert info.value.code == "INVALID_ARGUMENT"


def test_symlink_escaping_a_root_is_refused(daemon, media_root: Path, tmp_path: Path) -> None:
    _, client = daemon
    outside = tmp_path / "secret.mp4"
    outside.write_bytes((media_root / "tiny.mp4").read_bytes())
    link = media_root / "escape.mp4"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    with pytest.raises(ClientError) as info:
        client.submit(link, media_root / "dub.wav")
    assert info.value.code == "INVALID_ARGUMENT" and "outside the allowed roots" in str(info.value)
    with pytest.raises(ClientError) as info:  # an output path through a symlinked folder is refused too
        (media_root / "outlink").unlink(missing_ok=True)
        (media_root / "outlink").symlink_to(tmp_path)
        client.submit(media_root / "tiny.mp4", media_root / "dub.wav", media_root / "outlink" / "take.mp4")
    assert info.value.code == "INVALID_ARGUMENT"


def test_playlist_input_is_refused(daemon, media_root: Path) -> None:
    _, client = daemon
    playlist = media_root / "shot.mov"
    playlist.write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nfile:///etc/passwd\n")
    with pytest.raises(ClientError) as info:
        client.submit(playlist, media_root / "dub.wav")
    assert info.value.code == "INVALID_ARGUMENT" and "playlist" in str(info.value)


def test_oversize_upload_is_resource_exhausted(daemon, tmp_path: Path) -> None:
    running, client = daemon
    big = tmp_path / "big.wav"
    big.write_bytes(os.urandom(running.config.max_upload_bytes + 1))
    with pytest.raises(ClientError) as info:
        client.upload(big)
    assert info.value.code == "RESOURCE_EXHAUSTED" and "max_upload_bytes" in str(info.value)
    assert not [p for p in running.config.blobs_dir.iterdir() if p.name.startswith(".upload")]


def test_upload_with_wrong_checksum_is_refused(daemon) -> None:
    running, _ = daemon
    stub = pb_grpc.LipsyncStub(grpc.insecure_channel(running.addresses[0]))
    header = pb.UploadHeader(name="a.wav", size=4, sha256=hashlib.sha256(b"abcd").hexdigest())
    chunks = iter([pb.UploadChunk(header=header), pb.UploadChunk(data=b"abce")])
    with pytest.raises(grpc.RpcError) as info:
        stub.Upload(chunks, metadata=(("authorization", f"Bearer {running.token}"),), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "checksum" in info.value.details()


def test_unix_socket_is_0600(tmp_path: Path, media_root: Path) -> None:
    running, client = start_daemon(tmp_path / "data", media_root, listen=["unix"])
    try:
        socket_path = running.config.socket_path
        assert stat.S_ISSOCK(socket_path.stat().st_mode) and stat.S_IMODE(socket_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        with LipsyncClient(data_dir=running.config.data_dir) as local:  # finds the socket and token itself
            assert local.server_info().model == "identity"
    finally:
        client.close()
        running.stop(0)


def test_listening_beyond_loopback_needs_tls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_cert"):
        load_config(None, {"data_dir": str(tmp_path), "listen": ["0.0.0.0:50551"]})
    done = subprocess.run([sys.executable, "-m", "lipsync_daemon.main", "--data-dir", str(tmp_path / "d"),
                           "--listen", "0.0.0.0:0"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "tls_cert" in done.stderr and "Traceback" not in done.stderr


def _request(video: str, audio: str) -> pb.SubmitRenderRequest:
    request = pb.SubmitRenderRequest()
    request.video.path, request.audio.path = video, audio
    return request


def test_model_with_wrong_checksum_is_not_loaded(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(os.urandom(256))
    done = subprocess.run([sys.executable, "-m", "lipsync_daemon.main", "--data-dir", str(tmp_path / "d"),
                           "--listen", "127.0.0.1:0", "--generator", str(weights), "--model-sha256", "0" * 64],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "sha256" in done.stderr and "Traceback" not in done.stderr


def test_tcp_calls_naming_a_foreign_host_are_refused(daemon) -> None:
    """DNS rebinding: a page at evil.example whose name resolves to 127.0.0.1 reaches the loopback port, but
    its calls carry evil.example as :authority."""
    running, _ = daemon
    address, port = running.addresses[0], running.addresses[0].rsplit(":", 1)[1]
    token = (("authorization", f"Bearer {running.token}"),)
    for authority in ("evil.example:1234", "EVIL.example.", "10.1.2.3:" + port, "[2001:db8::1]:" + port):
        channel = grpc.insecure_channel(address, options=[("grpc.default_authority", authority)])
        stub = pb_grpc.LipsyncStub(channel)
        for call in (lambda: stub.ServerInfo(pb.ServerInfoRequest(), metadata=token, timeout=10),
                     lambda: list(stub.WatchJob(pb.WatchJobRequest(id="x"), metadata=token, timeout=10))):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, authority
            assert "allowed_hosts" in info.value.details() and "host '" in info.value.details()
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING  # health stays open
        channel.close()
    for authority in (f"localhost:{port}", f"127.0.0.2:{port}", f"[::1]:{port}", "LOCALHOST"):
        channel = grpc.insecure_channel(address, options=[("grpc.default_authority", authority)])
        reply = pb_grpc.LipsyncStub(channel).ServerInfo(pb.ServerInfoRequest(), metadata=token, timeout=10)
        assert reply.version, authority
        channel.close()


def test_allowed_host_is_accepted_and_the_unix_socket_is_not_checked(tmp_path: Path, media_root: Path) -> None:
    running, client = start_daemon(tmp_path / "data", media_root, allowed_hosts=["render-box.studio.lan"],
                                   listen=["127.0.0.1:0", "unix"], inbox=False)
    try:
        token = (("authorization", f"Bearer {running.token}"),)
        assert running.addresses[1].startswith("unix:")  # its :authority is the socket path, not a host
        assert LipsyncClient(running.addresses[1], running.token).list() == []
        for authority, allowed in (("render-box.studio.lan:50551", True), ("other.studio.lan:50551", False)):
            channel = grpc.insecure_channel(running.addresses[0], options=[("grpc.default_authority", authority)])
            try:
                pb_grpc.LipsyncStub(channel).ListJobs(pb.ListJobsRequest(), metadata=token, timeout=10)
                assert allowed, authority
            except grpc.RpcError as exc:
                assert not allowed and exc.code() == grpc.StatusCode.PERMISSION_DENIED, authority
            channel.close()
    finally:
        client.close()
        running.stop(0)
