"""The NC_* settings: one object, read from the environment, refused in one line when wrong."""

from pathlib import Path

import pytest

from offchain.channels.ledger import default_state_dir
from offchain.settings import Settings, SettingsError, load_settings

KEY = "0x" + "11" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("WORKER_DIR", "RESULT_PORT", "MODELS", "SIGNER_KEY", "CHANNEL_STATE", "DEPLOYMENTS_DIR"):
        monkeypatch.delenv(f"NC_{name}", raising=False)
    return monkeypatch


class Account:
    private_key = "0x" + "22" * 32


def test_load_settings__nothing_set__defaults():
    settings = load_settings()
    assert (settings.worker_dir, settings.result_port, settings.models, settings.signer_key) == (
        Path(".cache/worker"), 0, ("digits",), None)
    assert settings.channel_state == Path.home() / ".neural-commons" / "channels"
    assert settings.deployments_dir.name == "deployments"
    assert settings.signer(Account) == Account.private_key  # the account's own key


def test_load_settings__variables_set__parsed(clean_env, tmp_path):
    clean_env.setenv("NC_WORKER_DIR", str(tmp_path / "w"))
    clean_env.setenv("NC_RESULT_PORT", "8601")
    clean_env.setenv("NC_MODELS", "digits, other")
    clean_env.setenv("NC_SIGNER_KEY", KEY[2:])
    clean_env.setenv("NC_CHANNEL_STATE", str(tmp_path / "c"))
    settings = load_settings()
    assert (settings.worker_dir, settings.result_port, settings.models) == (tmp_path / "w", 8601, ("digits", "other"))
    assert settings.signer(Account) == KEY
    assert default_state_dir() == tmp_path / "c"  # the channel ledger reads the same object


def test_load_settings__empty_variable__default(clean_env):
    clean_env.setenv("NC_SIGNER_KEY", "")
    clean_env.setenv("NC_RESULT_PORT", "")
    assert (load_settings().signer_key, load_settings().result_port) == (None, 0)


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("NC_RESULT_PORT", "99999", "NC_RESULT_PORT: Input should be less than or equal to 65535 (got '99999')"),
        ("NC_RESULT_PORT", "http", "NC_RESULT_PORT: Input should be a valid integer"),
        ("NC_MODELS", "digits,,", "NC_MODELS: give one or more model names separated by commas"),
        ("NC_SIGNER_KEY", "0x" + "zz" * 32, "NC_SIGNER_KEY: not a private key: give 32 bytes as 64 hex digits"),
    ],
    ids=["port-range", "port-type", "empty-model", "bad-key"],
)
def test_load_settings__bad_value__one_line_error(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert "zz" not in str(caught.value)  # a key is never echoed


def test_settings__as_env__round_trips(clean_env, tmp_path):
    settings = load_settings(worker_dir=tmp_path, result_port=8602, models="digits", signer_key=KEY)
    env = settings.as_env()
    assert "NC_SIGNER_KEY" not in env
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert load_settings() == Settings(worker_dir=tmp_path, result_port=8602, models=("digits",))
