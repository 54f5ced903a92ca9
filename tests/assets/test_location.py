"""The per-asset boundary (``assets.location.located``): the location is added once, to a
copy of the error that keeps its class, attributes and cause, whatever its constructor."""

from __future__ import annotations

import pytest

from pacai_export.assets.location import located
from pacai_export.errors import LimitExceeded, TransientError, VerificationFailed


def test_the_location_prefixes_the_message_and_the_class_is_kept() -> None:
    with pytest.raises(LimitExceeded) as info, located("assets[3] 'rock' (rock.glb)"):
        raise LimitExceeded("12 bytes exceed the limit of 10")
    assert str(info.value) == "assets[3] 'rock' (rock.glb): 12 bytes exceed the limit of 10"
    assert info.value.code == "limit_exceeded"


def test_an_error_whose_constructor_is_not_message_only_keeps_its_data() -> None:
    """``type(exc)(f"{where}: {exc}")`` would call ``VerificationFailed`` with a string and
    split it into characters; the copy never calls the constructor."""
    original = VerificationFailed(["README.txt: hash differs", "bundle.json: unsigned"])
    with pytest.raises(VerificationFailed) as info, located("bundle"):
        raise original
    assert str(info.value) == "bundle: README.txt: hash differs; bundle.json: unsigned"
    assert info.value.problems == ["README.txt: hash differs", "bundle.json: unsigned"]


def test_nested_boundaries_and_a_shared_error_left_untouched() -> None:
    """A reference inside an asset: both say where; the error itself (awaited by several
    models when the file is shared) is not changed, each boundary raises its own copy."""
    shared = TransientError("the server answered HTTP 503, after 3 attempts")
    cause = OSError("connection reset")
    shared.__cause__ = cause
    messages = []
    for asset in ("assets[0] 'a'", "assets[1] 'b'"):
        with pytest.raises(TransientError) as info, located(asset), located("images[0] 'c.png'"):
            raise shared
        messages.append(str(info.value))
        assert info.value.__cause__ is cause
    assert messages == [
        "assets[0] 'a': images[0] 'c.png': the server answered HTTP 503, after 3 attempts",
        "assets[1] 'b': images[0] 'c.png': the server answered HTTP 503, after 3 attempts"]
    assert str(shared) == "the server answered HTTP 503, after 3 attempts"


def test_other_exceptions_pass_through_unchanged() -> None:
    with pytest.raises(KeyError) as info, located("assets[0] 'a'"):
        raise KeyError("x")
    assert str(info.value) == "'x'"
