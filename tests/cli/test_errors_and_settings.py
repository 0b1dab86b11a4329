"""Errors carry what interfaces need; settings are read, typed and checked in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from traum import errors, settings


def test_errors_carry_exit_codes_statuses_and_data():
    plain = errors.TraumError("plain message")
    assert str(plain) == "plain message" and plain.path is None and (plain.exit_code, plain.status) == (1, 400)
    located = errors.NotFound("x.wav is not a file", path="x.wav", reason="not a file")
    assert (located.path, located.reason, located.exit_code, located.status) == ("x.wav", "not a file", 1, 404)
    assert (errors.ConfigError.exit_code, errors.ConfigError.status) == (2, 400)
    assert (errors.QueryError.exit_code, errors.CatalogError.status, errors.CatalogError.exit_code) == (2, 500, 1)
    # A model folder that does not exist is a typo to fix, not "offline, carry on without the model".
    assert issubclass(errors.ModelNotFound, errors.ConfigError)
    assert not issubclass(errors.ModelNotFound, errors.ModelUnavailable)
    assert errors.TransientAudioError("x").transient and not errors.NotAudio("x").transient


def test_query_error_is_the_shared_one():
    from traum.search.query import QueryError, parse_query

    assert QueryError is errors.QueryError
    with pytest.raises(errors.QueryError) as caught:
        parse_query("kick", key="H minor")
    assert caught.value.exit_code == 2


def test_device_and_precision_are_checked_before_any_loading():
    from traum.api import check_hardware

    for device, precision in [("gpu", "auto"), ("auto", "fp8"), ("cuda:x", "auto")]:
        with pytest.raises(errors.ConfigError):
            check_hardware(device, precision)
    check_hardware("cpu", "fp32")
    check_hardware("auto", "bf16")


def test_settings_are_typed_with_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("TRAUM_CACHE_MAX_MB", raising=False)
    assert settings.get("cache_max_mb") == 1024 and settings.get("max_duration_s") == 10800
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", " 64 ")
    monkeypatch.setenv("TRAUM_LOG_LEVEL", "debug")
    monkeypatch.setenv("TRAUM_DB", "~/x.db")
    assert settings.get("cache_max_mb") == 64 and settings.get("log_level") == "DEBUG"
    assert settings.get("db") == Path("~/x.db").expanduser() == settings.default_db_path()
    assert settings.configured("model") is None and settings.default_model() == settings.DEFAULT_MODEL


@pytest.mark.parametrize("variable, value", [("TRAUM_CACHE_MAX_MB", "1g"), ("TRAUM_CACHE_MAX_MB", "-1"),
                                             ("TRAUM_LOG_LEVEL", "verbose"), ("TRAUM_PRECISION", "fp8"),
                                             ("TRAUM_MAX_DURATION_S", "3h")])
def test_bad_settings_are_config_errors(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(errors.ConfigError, match=variable):
        settings.validate()


def test_the_cache_reads_its_bound_when_opened_not_at_import(monkeypatch, tmp_path):
    import os
    import subprocess
    import sys

    import traum.embedding.cache as cache

    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "1g")
    # Importing with a bad value is no crash; opening the cache says what is wrong.
    imported = subprocess.run([sys.executable, "-c", "import traum.embedding.cache"], capture_output=True,
                              text=True, env={**os.environ})
    assert imported.returncode == 0, imported.stderr
    with pytest.raises(errors.ConfigError):
        cache.default_cache()
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    assert cache.default_cache() is None
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "2")
    opened = cache.default_cache()
    assert opened is not None and opened.max_bytes == 2 << 20
    opened.close()
