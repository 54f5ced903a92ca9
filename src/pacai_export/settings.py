"""Environment → typed settings, read once at the edge (contract §12).

Everything below the CLI takes a ``Settings`` (or a part of it) as an explicit argument.
A missing or malformed variable raises ``ConfigError`` naming the variable; the CLI turns
that into one line on stderr and exit code 2.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

QUEUE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-{}]+$")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Hostile-input limits (§13), each enforced before the work it guards."""

    # 200,000 nodes with names, transforms and a component each fit in ~60 MB of JSON.
    manifest_bytes: int = 64 * 1024 * 1024
    nodes: int = 200_000
    assets: int = 5_000
    # A real game has tens of levels and hundreds of materials; each scene is a file per
    # engine, so a count in the thousands is already minutes of writing.
    scenes: int = 1_000
    materials: int = 10_000
    components: int = 64  # per node
    json_depth: int = 64  # manifest, job data and glTF JSON: nesting of arrays and objects
    asset_bytes: int = 256 * 1024 * 1024
    job_fetch_bytes: int = 2 * 1024 * 1024 * 1024
    hierarchy_depth: int = 256
    image_pixels: int = 8192 * 8192
    # Each side, and a decoded row (width * bands * bytes per band): a 16777216x4 PNG is
    # inside the pixel limit, but its rows alone take hundreds of megabytes to resample.
    image_dimension: int = 16_384
    image_row_bytes: int = 16_384 * 8  # RGBA, 16 bits per channel, at the widest side
    # Address space of each CPU-pool process (RLIMIT_AS); 0 leaves it unlimited.
    pool_memory_bytes: int = 2 * 1024**3
    fetch_connect_timeout: float = 5.0
    fetch_timeout: float = 60.0
    fetch_redirects: int = 3


@dataclasses.dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    redis_cluster: bool = False
    exports_dir: Path = Path("exports")
    export_bucket_url: str = ""
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_checksum: bool = True
    s3_multipart_threshold: int = 16 * 1024 * 1024
    download_url_mode: str = "public"
    download_url_expiry: int = 86_400
    callback_url: str | None = None
    callback_secret: str | None = None
    callback_max_attempts: int = 10
    concurrency: int = 4
    queue_name: str = "exportQueue"
    queue_prefix: str = "bull"
    # Listen on every interface by default, as a container must; 127.0.0.1 keeps a server
    # to the machine (behind a local proxy or sidecar).
    health_host: str = "0.0.0.0"
    health_port: int = 8080
    shutdown_timeout: float = 25.0
    # Lock and stall timing (ms); see docs/decisions.md for the choice.
    lock_duration_ms: int = 30_000
    stalled_interval_ms: int = 15_000
    max_stalled_count: int = 2
    projects_dir: Path | None = None
    project_manifest_url: str | None = None
    asset_base_url: str | None = None
    asset_http_allowlist: tuple[str, ...] = ()
    # ``bucket/prefix`` entries s3:// assets may come from; ``{project_id}`` is the job's.
    # None: the worker's own asset prefix (STORAGE_URL's ``<prefix>/_assets/{project_id}/``).
    asset_s3_allow: tuple[str, ...] | None = None
    asset_cache_dir: Path | None = None
    asset_cache_max_bytes: int = 5 * 1024**3
    signing_key_file: Path | None = None
    pkcs11_module: Path | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = None
    pkcs11_key_label: str | None = None
    api_host: str = "0.0.0.0"
    api_port: int = 8000
    api_tokens: tuple[str, ...] = ()
    api_cors_origins: tuple[str, ...] = ()
    api_max_body_bytes: int = 6 * 1024 * 1024
    log_level: str = "info"
    log_format: str = "json"
    limits: Limits = dataclasses.field(default_factory=Limits)

    @property
    def callback_queue_name(self) -> str:
        """The durable callback-delivery queue that sits beside the export queue."""
        return f"{self.queue_name}-callbacks"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable of §12; raise ``ConfigError`` on the first bad one."""
        e = _Env(os.environ if env is None else env)
        d = cls()  # the defaults: declared once, on the fields
        exports_dir = Path(e.text("EXPORTS_DIR", str(d.exports_dir))).resolve()
        settings = cls(
            redis_url=e.url("REDIS_URL", ("redis", "rediss", "unix")),
            redis_cluster=e.choice("REDIS_CLUSTER", "false", ("true", "false")) == "true",
            exports_dir=exports_dir,
            export_bucket_url=e.text("EXPORT_BUCKET_URL", "").rstrip("/"),
            storage_url=e.url("STORAGE_URL", ("s3",)),
            s3_endpoint_url=e.url("S3_ENDPOINT_URL", ("http", "https")),
            s3_checksum=e.choice("S3_CHECKSUM", "sha256", ("sha256", "off")) == "sha256",
            s3_multipart_threshold=e.integer("S3_MULTIPART_THRESHOLD", d.s3_multipart_threshold,
                                             5 * 1024 * 1024, 5 * 1024**3),
            download_url_mode=e.choice("DOWNLOAD_URL_MODE", d.download_url_mode,
                                       ("public", "presigned")),
            download_url_expiry=e.integer("DOWNLOAD_URL_EXPIRY", d.download_url_expiry, 1, 604_800),
            callback_url=e.url("CALLBACK_URL", ("http", "https")),
            callback_secret=e.text("WORKER_CALLBACK_SECRET", "") or None,
            callback_max_attempts=e.integer("CALLBACK_MAX_ATTEMPTS", d.callback_max_attempts,
                                            1, 100),
            concurrency=e.integer("WORKER_CONCURRENCY", d.concurrency, 1, 256),
            queue_name=e.match("EXPORT_QUEUE", d.queue_name, QUEUE_NAME_RE),
            queue_prefix=e.match("QUEUE_PREFIX", d.queue_prefix, QUEUE_NAME_RE),
            health_host=e.address("HEALTH_HOST", d.health_host),
            health_port=e.integer("HEALTH_PORT", d.health_port, 0, 65535),
            shutdown_timeout=float(e.integer("SHUTDOWN_TIMEOUT", int(d.shutdown_timeout), 0, 3600)),
            lock_duration_ms=e.integer("LOCK_DURATION_MS", d.lock_duration_ms, 1_000, 600_000),
            stalled_interval_ms=e.integer("STALLED_INTERVAL_MS", d.stalled_interval_ms,
                                          500, 600_000),
            max_stalled_count=e.integer("MAX_STALLED_COUNT", d.max_stalled_count, 0, 100),
            projects_dir=e.path("PROJECTS_DIR"),
            project_manifest_url=e.url("PROJECT_MANIFEST_URL", ("http", "https")),
            asset_base_url=e.url("ASSET_BASE_URL", ("http", "https")),
            asset_http_allowlist=e.items("ASSET_HTTP_ALLOWLIST"),
            asset_s3_allow=_s3_allow(e.text("ASSET_S3_ALLOW", "")),
            asset_cache_dir=e.path("ASSET_CACHE_DIR"),
            asset_cache_max_bytes=e.integer("ASSET_CACHE_MAX_BYTES", d.asset_cache_max_bytes,
                                            0, 1 << 50),
            signing_key_file=e.path("SIGNING_KEY_FILE"),
            pkcs11_module=e.path("PKCS11_MODULE"),
            pkcs11_token_label=e.text("PKCS11_TOKEN_LABEL", "") or None,
            pkcs11_pin=e.text("PKCS11_PIN", "") or None,
            pkcs11_key_label=e.text("PKCS11_KEY_LABEL", "") or None,
            api_host=e.address("API_HOST", d.api_host),
            api_port=e.integer("API_PORT", d.api_port, 0, 65535),
            api_tokens=e.items("API_TOKENS"),
            api_cors_origins=e.items("API_CORS_ORIGINS"),
            api_max_body_bytes=e.integer("API_MAX_BODY_BYTES", d.api_max_body_bytes, 1024, 1 << 32),
            log_level=e.choice("LOG_LEVEL", d.log_level, LOG_LEVELS),
            log_format=e.choice("LOG_FORMAT", "json" if not sys.stderr.isatty() else "console",
                                ("json", "console")),
            limits=Limits(
                manifest_bytes=e.integer("LIMIT_MANIFEST_BYTES", Limits.manifest_bytes, 1,
                                         1 << 40),
                nodes=e.integer("LIMIT_NODES", Limits.nodes, 1, 1 << 31),
                assets=e.integer("LIMIT_ASSETS", Limits.assets, 0, 1 << 31),
                asset_bytes=e.integer("LIMIT_ASSET_BYTES", Limits.asset_bytes, 1, 1 << 40),
                job_fetch_bytes=e.integer("LIMIT_JOB_FETCH_BYTES", Limits.job_fetch_bytes, 1,
                                          1 << 44),
                hierarchy_depth=e.integer("LIMIT_HIERARCHY_DEPTH", Limits.hierarchy_depth, 1,
                                          512),
                scenes=e.integer("LIMIT_SCENES", Limits.scenes, 1, 1 << 31),
                materials=e.integer("LIMIT_MATERIALS", Limits.materials, 0, 1 << 31),
                components=e.integer("LIMIT_COMPONENTS", Limits.components, 0, 1 << 16),
                json_depth=e.integer("LIMIT_JSON_DEPTH", Limits.json_depth, 8, 400),
                image_pixels=e.integer("LIMIT_IMAGE_PIXELS", Limits.image_pixels, 1, 1 << 32),
                image_dimension=e.integer("LIMIT_IMAGE_DIMENSION", Limits.image_dimension, 1,
                                          1 << 24),
                image_row_bytes=e.integer("LIMIT_IMAGE_ROW_BYTES", Limits.image_row_bytes, 1,
                                          1 << 32),
                pool_memory_bytes=_pool_memory(e.integer(
                    "LIMIT_POOL_MEMORY_BYTES", Limits.pool_memory_bytes, 0, 1 << 44)),
                fetch_connect_timeout=float(e.integer(
                    "FETCH_CONNECT_TIMEOUT", int(Limits.fetch_connect_timeout), 1, 600)),
                fetch_timeout=float(e.integer("FETCH_TIMEOUT", int(Limits.fetch_timeout), 1, 3600)),
                fetch_redirects=e.integer("FETCH_MAX_REDIRECTS", Limits.fetch_redirects, 0, 20),
            ),
        )
        return _check_combinations(settings)

    def require_redis(self) -> str:
        if not self.redis_url:
            raise ConfigError("REDIS_URL: required (e.g. redis://127.0.0.1:6379)")
        return self.redis_url


def _check_combinations(s: Settings) -> Settings:
    """Rules that involve several variables; returns the settings with derived defaults."""
    if s.callback_url and not s.callback_secret:
        raise ConfigError("WORKER_CALLBACK_SECRET: required when CALLBACK_URL is set")
    if s.project_manifest_url and "{project_id}" not in s.project_manifest_url:
        raise ConfigError("PROJECT_MANIFEST_URL: must contain {project_id}")
    if s.signing_key_file and s.pkcs11_module:
        raise ConfigError("SIGNING_KEY_FILE: set either it or PKCS11_MODULE, not both")
    if s.pkcs11_module:
        for name, value in (("PKCS11_TOKEN_LABEL", s.pkcs11_token_label),
                            ("PKCS11_PIN", s.pkcs11_pin), ("PKCS11_KEY_LABEL", s.pkcs11_key_label)):
            if not value:
                raise ConfigError(f"{name}: required when PKCS11_MODULE is set")
    if s.export_bucket_url:
        return s
    if s.storage_url and s.download_url_mode == "public":
        raise ConfigError("EXPORT_BUCKET_URL: required with s3:// storage and "
                          "DOWNLOAD_URL_MODE=public (the bucket's or CDN's public URL)")
    return dataclasses.replace(s, export_bucket_url=s.exports_dir.as_uri())


S3_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
POOL_MEMORY_MIN = 512 * 1024**2  # below this a pool process cannot even import its modules


def _s3_allow(raw: str) -> tuple[str, ...] | None:
    """``ASSET_S3_ALLOW``: unset → None (the default rule), ``none`` → nothing, else entries."""
    if not raw:
        return None
    if raw.lower() == "none":
        return ()
    entries = []
    for item in (i.strip() for i in raw.split(",")):
        bucket, _, prefix = item.partition("/")
        if not S3_BUCKET_RE.match(bucket) or ".." in prefix.split("/"):
            raise ConfigError(f"ASSET_S3_ALLOW: {item!r} is not a bucket/prefix entry")
        entries.append(item)
    return tuple(entries)


def _pool_memory(value: int) -> int:
    if 0 < value < POOL_MEMORY_MIN:
        raise ConfigError(f"LIMIT_POOL_MEMORY_BYTES: must be 0 (no limit) or at least "
                          f"{POOL_MEMORY_MIN}, got {value}")
    return value


class _Env:
    """Typed reads of environment variables, each error naming its variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return str(self._env.get(name, default)).strip()

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: must be an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ConfigError(f"{name}: must be between {lo} and {hi}, got {value}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).lower() or default
        if value not in choices:
            raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")
        return value

    def match(self, name: str, default: str, pattern: re.Pattern[str]) -> str:
        value = self.text(name, default) or default
        if not pattern.match(value):
            raise ConfigError(f"{name}: {value!r} may only contain letters, digits, '_', '-', '.', "
                              "'{' and '}'")
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self.text(name, "")
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise ConfigError(f"{name}: must be a {'/'.join(s + '://' for s in schemes)} URL, "
                              f"got {value!r}")
        if parts.scheme in ("http", "https", "s3") and not parts.netloc:
            raise ConfigError(f"{name}: has no host: {value!r}")
        return value

    def address(self, name: str, default: str) -> str:
        """An IP address to listen on (a host name could resolve to several, or change)."""
        value = self.text(name, default) or default
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ConfigError(f"{name}: must be an IP address to listen on (0.0.0.0, "
                              f"127.0.0.1, ::, ::1, …), got {value!r}") from None

    def path(self, name: str) -> Path | None:
        value = self.text(name, "")
        return Path(value).resolve() if value else None

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.text(name, "").split(",") if item.strip())
