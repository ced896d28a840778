"""Daemon settings: one frozen dataclass, built once from a TOML file plus command-line flags.

Every key of the TOML file is a field name below (``[daemon]`` table or top level); flags given on
the command line override the file. Paths derived from ``data_dir`` (token, database, socket, blobs,
outputs, inbox, outbox) are properties so that one setting moves them all.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipsync_daemon.auth import authority_host, is_loopback_host
from lipsync_engine.engines import BACKENDS, DEFAULT_TRITON_MODEL, EngineOptions

GiB = 1 << 30


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/lipsync``, else ``~/.local/share/lipsync``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "lipsync"


@dataclass(frozen=True)
class DaemonConfig:
    """Everything the daemon is told at start-up. Defaults are safe for a single workstation."""

    data_dir: Path = field(default_factory=default_data_dir)  # token, job database, socket, blobs, outputs
    # Where to listen: "unix" (= <data_dir>/run/lipsync.sock, mode 0600), "unix:/abs/path.sock",
    # or "host:port". A host that is not loopback needs tls_cert + tls_key, else the daemon refuses to start.
    listen: tuple[str, ...] = ("unix",)
    # Host names a TCP call's :authority may name besides loopback (DNS-rebinding defence), e.g. the
    # machine's name when listening beyond loopback with TLS. The hosts of the listen addresses are added.
    allowed_hosts: tuple[str, ...] = ()
    allowed_roots: tuple[Path, ...] = ()  # media and outputs may only be under these (plus the daemon's own dirs)
    generator: str = "default"  # "default" (shipped weights), "identity", or a weights path
    model_sha256: str = ""  # if set, the weights file must have this digest before it is loaded
    backend: str = "auto"  # "auto" (the fastest here: onnx on CPU fp32), "torch", "onnx", "tensorrt", "triton"
    triton_url: str = ""  # "host:port" of a Triton server's gRPC endpoint; required by backend "triton"
    triton_model: str = DEFAULT_TRITON_MODEL  # the model's name in that server's repository
    engine_cache_dir: Path | None = None  # exported .onnx / built TensorRT plans; default <data_dir>/engines
    max_batch: int = 32  # largest batch the engine sends to the device in one call
    device: str = "cpu"  # "cpu", "cuda", "cuda:N"
    precision: str = "fp32"  # "fp32" or "fp16"
    concurrency: int = 1  # jobs rendered at once (threads in the engine host, sharing batches)
    batch_window_ms: float = 5.0  # how long the batcher waits for other jobs' frames to join a batch
    max_crashes: int = 3  # a job that was running when the engine host crashed this often ends FAILED (poison)
    lease_s: float = 30.0  # a running job's lease; renewed every lease_s / 3 while it runs
    max_upload_bytes: int = 4 * GiB  # one uploaded blob
    min_free_bytes: int = 1 * GiB  # free disk to keep after an upload or a render's estimated output
    max_output_bytes: int = 0  # per-file size limit of the engine host (RLIMIT_FSIZE); 0 = none
    track_cache_files: int = 500  # face tracks kept in <data_dir>/tracks (one per shot, reused by every language)
    track_cache_bytes: int = 2 * GiB  # ... and their total size; least recently used tracks go first
    max_width: int = 4096  # media limits, checked from the container header before decoding
    max_height: int = 4096
    max_duration_s: float = 3 * 3600.0
    max_frames: int = 1_000_000
    tls_cert: Path | None = None  # PEM certificate chain, required when listening beyond loopback
    tls_key: Path | None = None  # PEM private key
    inbox: bool = True  # watch <inbox_dir> for JSON job manifests (docs/inbox.md)
    inbox_dir_override: Path | None = None  # default <data_dir>/inbox
    outbox_dir_override: Path | None = None  # default <data_dir>/outbox
    log_level: str = "INFO"

    @property
    def token_path(self) -> Path:
        return self.data_dir / "token"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "run" / "lipsync.sock"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def engine_cache(self) -> Path:
        return self.engine_cache_dir or self.data_dir / "engines"

    def engine_options(self) -> EngineOptions:
        """The engine settings the generator is loaded with (built once, passed to the engine host)."""
        return EngineOptions(max_batch=self.max_batch, opt_batch=min(8, self.max_batch), cache_dir=self.engine_cache,
                             triton_url=self.triton_url or None, triton_model=self.triton_model)

    @property
    def tracks_dir(self) -> Path:
        return self.data_dir / "tracks"

    @property
    def inbox_dir(self) -> Path:
        return self.inbox_dir_override or self.data_dir / "inbox"

    @property
    def outbox_dir(self) -> Path:
        return self.outbox_dir_override or self.data_dir / "outbox"

    def authority_hosts(self) -> tuple[str, ...]:
        """allowed_hosts plus the hosts of the TCP listen addresses (wildcards excluded)."""
        listening = [authority_host(a) for kind, a in self.listen_targets() if kind == "tcp"]
        return (*self.allowed_hosts, *(h for h in listening if h not in ("", "0.0.0.0", "::")))

    def listen_targets(self) -> list[tuple[str, str]]:
        """[(kind, address)], kind "unix" (absolute socket path) or "tcp" ("host:port")."""
        targets = []
        for item in self.listen:
            if item == "unix":
                targets.append(("unix", str(self.socket_path)))
            elif item.startswith("unix:"):
                path = item[len("unix:"):]
                targets.append(("unix", os.path.abspath(path[2:] if path.startswith("//") else path)))
            else:
                targets.append(("tcp", item))
        return targets


class ConfigError(ValueError):
    """A setting is invalid; the message names it and what would be valid."""


def validate(config: DaemonConfig) -> DaemonConfig:
    """Raise ConfigError on settings that cannot work or are unsafe; return ``config`` unchanged."""
    for kind, address in config.listen_targets():
        if kind == "tcp":
            if ":" not in address or not address.rsplit(":", 1)[1].isdigit():
                raise ConfigError(f"listen address '{address}' is not host:port (e.g. 127.0.0.1:50551)")
            if not is_loopback_host(authority_host(address)) and not (config.tls_cert and config.tls_key):
                raise ConfigError(
                    f"listening on '{address}' reaches beyond this machine; set tls_cert and tls_key "
                    "(PEM files) or listen on 127.0.0.1 / a unix socket"
                )
    if config.backend not in ("auto", *BACKENDS):
        raise ConfigError(f"backend '{config.backend}' is not known; use 'auto' or one of {list(BACKENDS)}")
    if config.backend == "triton" and not config.triton_url:
        raise ConfigError("backend 'triton' needs the server's address: set triton_url (--triton-url HOST:PORT, "
                          "the Triton server's gRPC port, e.g. 127.0.0.1:8001)")
    if config.triton_url and (":" not in config.triton_url or not config.triton_url.rsplit(":", 1)[1].isdigit()):
        raise ConfigError(f"triton_url '{config.triton_url}' is not host:port (e.g. 127.0.0.1:8001)")
    if config.max_batch < 1:
        raise ConfigError(f"max_batch {config.max_batch} must be at least 1")
    if config.concurrency < 1:
        raise ConfigError(f"concurrency {config.concurrency} must be at least 1")
    if config.track_cache_files < 1 or config.track_cache_bytes < 1:
        raise ConfigError(f"track_cache_files {config.track_cache_files} and track_cache_bytes "
                          f"{config.track_cache_bytes} must be at least 1 (the track of a running job is kept)")
    if config.max_crashes < 1:
        raise ConfigError(f"max_crashes {config.max_crashes} must be at least 1")
    for root in config.allowed_roots:
        if not root.is_absolute():
            raise ConfigError(f"allowed root '{root}' must be an absolute path")
    return config


_PATH_FIELDS = {"data_dir", "tls_cert", "tls_key", "inbox_dir_override", "outbox_dir_override", "engine_cache_dir"}


def _coerce(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _PATH_FIELDS:
        return Path(value).expanduser()
    if name == "allowed_roots":
        return tuple(Path(v).expanduser().resolve() for v in value)
    if name in ("listen", "allowed_hosts"):
        return (value,) if isinstance(value, str) else tuple(value)
    return value


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> DaemonConfig:
    """Settings from the TOML file at ``path`` (if any), then ``overrides`` (flags; None values skipped)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError as exc:
                raise ConfigError("reading a TOML config file needs Python 3.11+ or `pip install tomli`; "
                                  "or give the settings as flags") from exc
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file '{path}': {exc}") from exc
        values.update(data.get("daemon", data))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    names = {f.name for f in dataclasses.fields(DaemonConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; valid settings are {sorted(names)}")
    return validate(DaemonConfig(**{k: _coerce(k, v) for k, v in values.items()}))
