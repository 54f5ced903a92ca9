import subprocess
import sys
from pathlib import Path

import pytest

from pacai_export.errors import ConfigError
from pacai_export.settings import Settings

CLI = str(Path(sys.executable).parent / "pacai-export")


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    s = Settings.from_env({"EXPORTS_DIR": str(tmp_path)})
    assert (s.queue_name, s.queue_prefix, s.concurrency, s.health_port) == (
        "exportQueue", "bull", 4, 8080)
    assert s.shutdown_timeout == 25
    assert s.export_bucket_url == tmp_path.resolve().as_uri()
    assert s.callback_queue_name == "exportQueue-callbacks"
    assert (s.limits.manifest_bytes, s.limits.nodes) == (64 * 1024 * 1024, 200_000)


@pytest.mark.parametrize(("env", "message"), [
    ({"WORKER_CONCURRENCY": "four"}, "WORKER_CONCURRENCY: must be an integer, got 'four'"),
    ({"WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY: must be between 1 and 256, got 0"),
    ({"REDIS_URL": "http://x"}, "REDIS_URL: must be a redis:///rediss:///unix:// URL, got 'http://x'"),
    ({"CALLBACK_URL": "https://api.example.test/cb"},
     "WORKER_CALLBACK_SECRET: required when CALLBACK_URL is set"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: must be one of debug, info, warning, error, got 'loud'"),
    ({"EXPORT_QUEUE": "a:b"}, "EXPORT_QUEUE: 'a:b' may only contain"),
    ({"STORAGE_URL": "s3://bucket/prefix"},
     "EXPORT_BUCKET_URL: required with s3:// storage and DOWNLOAD_URL_MODE=public"),
    ({"STORAGE_URL": "file:///x"}, "STORAGE_URL: must be a s3:// URL, got 'file:///x'"),
    ({"PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so", "PKCS11_TOKEN_LABEL": "t"},
     "PKCS11_PIN: required when PKCS11_MODULE is set"),
    ({"DOWNLOAD_URL_MODE": "signed"},
     "DOWNLOAD_URL_MODE: must be one of public, presigned, got 'signed'"),
])
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith(message)


def test_worker_without_redis_url_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([CLI, "worker"], env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "pacai-export: configuration error: REDIS_URL: required (e.g. redis://127.0.0.1:6379)"]


def test_bad_setting_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([CLI, "worker"], env={"REDIS_URL": "redis://127.0.0.1:6379",
                                                "HEALTH_PORT": "99999"},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "HEALTH_PORT: must be between 0 and 65535, got 99999" in proc.stderr
