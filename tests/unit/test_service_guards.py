"""The small pure pieces behind the service's hostile-input guards: bind addresses, job ids,
dashboard sessions, idempotency hashes, owner-locked work folders."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from pacai_export import workdirs
from pacai_export.api.idempotency import body_hash
from pacai_export.api.problems import Problem, require_job_id
from pacai_export.api.sessions import session_valid, session_value
from pacai_export.errors import ConfigError, StorageError
from pacai_export.settings import Settings


def test_bind_addresses_default_to_every_interface_and_take_ip_literals() -> None:
    s = Settings.from_env({})
    assert (s.api_host, s.health_host) == ("0.0.0.0", "0.0.0.0")
    s = Settings.from_env({"API_HOST": "127.0.0.1", "HEALTH_HOST": "0:0::1"})
    assert (s.api_host, s.health_host) == ("127.0.0.1", "::1")
    with pytest.raises(ConfigError, match=r"^API_HOST: must be an IP address to listen on"):
        Settings.from_env({"API_HOST": "localhost"})


@pytest.mark.parametrize("job_id", ["1", "idem-order-42.a_b~c", "a/b", "x" * 256, "é"])
def test_job_ids_that_can_exist_pass(job_id: str) -> None:
    assert require_job_id(job_id) == job_id


@pytest.mark.parametrize(("job_id", "message"), [
    ("", "must be 1 to 256 characters"),
    ("x" * 257, "must be 1 to 256 characters"),
    ("1:logs", "must not contain ':'"),
    ("a b", "must not contain spaces or control characters"),
    ("a\x00b", "must not contain spaces or control characters"),
    ("a\u2028b", "must not contain spaces or control characters"),
])
def test_job_ids_that_name_other_keys_are_refused(job_id: str, message: str) -> None:
    with pytest.raises(Problem) as caught:
        require_job_id(job_id)
    assert (caught.value.status, caught.value.detail) == (400, f"id: {message}")


def test_a_session_is_bound_to_its_token_and_expiry() -> None:
    now = time.time()
    value = session_value("tok-a", int(now) + 60)
    assert session_valid(value, ("tok-b", "tok-a"), now)
    assert not session_valid(value, ("tok-b",), now)  # the token was removed
    assert not session_valid(value, ("tok-a",), now + 61)  # expired
    assert not session_valid(value.replace("v1.", "v2."), ("tok-a",), now)
    assert not session_valid("v1.+1.abc", ("tok-a",), now)
    assert not session_valid(None, ("tok-a",), now)
    assert "tok-a" not in value


def test_body_hash_ignores_key_order_and_whitespace_only() -> None:
    assert body_hash({"a": 1, "b": [1, 2]}) == body_hash({"b": [1, 2], "a": 1})
    assert body_hash({"a": 1}) != body_hash({"a": 2})
    assert body_hash({"a": "é"}) != body_hash({"a": "e"})


def test_work_folders_are_swept_only_when_no_live_owner_holds_them(tmp_path: Path) -> None:
    live = workdirs.create(tmp_path, "live")
    dead = workdirs.create(tmp_path, "dead")
    os.close(dead._lock)  # as if its process died: the kernel drops the lock
    (tmp_path / "pacai-nolock-x").mkdir()
    (tmp_path / "other").mkdir()
    later = time.time() + workdirs.SWEEP_GRACE_S + 1
    assert workdirs.sweep(tmp_path, now=time.time()) == []  # all too young
    swept = workdirs.sweep(tmp_path, now=later)
    assert sorted(swept) == sorted([dead.path.name, "pacai-nolock-x"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.path.name, "other"])
    with (live.path / workdirs.OWNER).open("rb") as fh, pytest.raises(BlockingIOError):
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    live.remove()
    assert not live.path.exists()


def test_a_work_folder_that_cannot_be_made_names_the_setting_not_the_path(
        tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as caught:
        workdirs.create(blocker / "_work", "p")
    assert str(caught.value) == ("could not create a work folder in EXPORTS_DIR/_work: "
                                 "Not a directory")
