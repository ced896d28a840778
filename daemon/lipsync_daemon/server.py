"""Assembles the daemon: store, blob store, worker, inbox, gRPC server with auth, health and reflection.

Listening: Unix sockets are created in a 0700 folder and chmod 0600; TCP listeners on loopback are
plain (token auth still applies); beyond loopback they need TLS (config.validate refuses otherwise).
"""
from __future__ import annotations

import fcntl
import logging
import os
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon._proto import lipsync_pb2_grpc as pb_grpc
from lipsync_daemon.auth import TokenAuthInterceptor, load_or_create_token
from lipsync_daemon.blobs import BlobStore
from lipsync_daemon.config import DaemonConfig
from lipsync_daemon.errors import ServiceError
from lipsync_daemon.events import JobEvents
from lipsync_daemon.inbox import Inbox
from lipsync_daemon.jobspec import Submissions
from lipsync_daemon.paths import PathPolicy
from lipsync_daemon.service import LipsyncService
from lipsync_daemon.store import JobStore
from lipsync_daemon.worker import Worker

log = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Lipsync"].full_name
MAX_MESSAGE_BYTES = 64 << 20  # SyncFrame carries a PNG (a 4K frame can be 25 MB); uploads come in 1 MiB chunks


class DaemonRunning(RuntimeError):
    """Another daemon already serves this data folder."""


class Daemon:
    """One running daemon. ``start()`` returns once it serves; ``stop()`` shuts it down."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(config.data_dir, 0o700)
        self._lock_file = open(config.data_dir / "daemon.lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DaemonRunning(f"another lipsync daemon already uses '{config.data_dir}'; stop it or pick "
                                "another data_dir") from exc
        self.token = load_or_create_token(config.token_path)
        self.events = JobEvents()
        self.store = JobStore(config.db_path)
        self.blobs = BlobStore(config.blobs_dir, config.max_upload_bytes, config.min_free_bytes)
        self.blobs.sweep_partials()
        self.health = health.HealthServicer()
        self.worker = Worker(config, self.store, self.events, on_engine=self._engine_health)
        self.submissions = Submissions(self.store, self.blobs, PathPolicy(config.allowed_roots), config.outputs_dir,
                                       self.events, on_new_job=self.worker.kick)
        self.inbox = Inbox(config.inbox_dir, config.outbox_dir, self.submissions, self.store, self.worker, self.events) \
            if config.inbox else None
        self.server: grpc.Server | None = None
        self.addresses: list[str] = []

    def start(self) -> None:
        """Bind, serve NOT_SERVING while the model loads, then SERVING."""
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.so_reuseport", 0)]
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
                             interceptors=[TokenAuthInterceptor(self.token, self.config.authority_hosts())], options=options)
        pb_grpc.add_LipsyncServicer_to_server(
            LipsyncService(self.config, self.store, self.blobs, self.submissions, self.worker, self.events), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.addresses = [self._bind(server, kind, address) for kind, address in self.config.listen_targets()]
        server.start()
        self.server = server
        for kind, address in self.config.listen_targets():
            if kind == "unix":
                os.chmod(address, 0o600)
        self.worker.start()
        if self.inbox is not None:
            self.inbox.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def _engine_health(self, ready: bool) -> None:
        """The Lipsync service is NOT_SERVING while its engine host is down (crashed, restarting)."""
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        self.health.set(SERVICE_NAME, status)

    def _bind(self, server: grpc.Server, kind: str, address: str) -> str:
        if kind == "unix":
            folder = Path(address).parent
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
            Path(address).unlink(missing_ok=True)  # a stale socket of a dead daemon (the flock proves it is dead)
            server.add_insecure_port(f"unix:{address}")
            return f"unix:{address}"
        if self.config.tls_cert and self.config.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(self.config.tls_key.read_bytes(), self.config.tls_cert.read_bytes())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
        if port == 0:
            raise ServiceError("UNAVAILABLE", f"cannot listen on '{address}' (in use or not a local address)")
        return f"{address.rsplit(':', 1)[0]}:{port}"

    def stop(self, grace_s: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        if self.inbox is not None:
            self.inbox.stop()
        if self.server is not None:
            self.server.stop(grace_s).wait()
        self.worker.stop()
        self.store.close()
        self._lock_file.close()
