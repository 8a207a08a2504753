"""Every `NC_*` environment variable of the package and the bot, read and
checked in one place (pydantic-settings).

    NC_WORKER_DIR       the worker bot's state, models and results   [.cache/worker]
    NC_RESULT_PORT      port of the bot's result server (0: any free) [0]
    NC_MODELS           comma-separated model names the bot serves   [digits]
    NC_SIGNER_KEY       hex key that signs attestations and receipts [the account's own key]
    NC_CHANNEL_STATE    where a channel worker keeps its books       [~/.neural-commons/channels]
    NC_DEPLOYMENTS_DIR  where deployments/<network>.json live        [<repo>/deployments]
    NC_TAMPER           tests only: the worker bot cheats (`offchain.tamper`, e.g. noise:1e-4) [none]

A bad value is refused with one line that names the variable (`SettingsError`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from offchain.errors import NeuralCommonsError

PREFIX = "NC_"
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(NeuralCommonsError):
    """An `NC_*` environment variable with a value that cannot be used."""


class Settings(BaseSettings):
    """The package's settings; each field `x` is read from `NC_X`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore",
                                      frozen=True)

    worker_dir: Path = Path(".cache/worker")
    result_port: int = Field(0, ge=0, le=65_535)
    models: Annotated[tuple[str, ...], NoDecode] = ("digits",)
    signer_key: SecretStr | None = None
    channel_state: Path = Field(default_factory=lambda: Path.home() / ".neural-commons" / "channels")
    deployments_dir: Path = REPO_ROOT / "deployments"
    tamper: str | None = None

    @field_validator("tamper", mode="before")
    @classmethod
    def _check_tamper(cls, value):
        if value in (None, ""):
            return None
        from offchain.tamper import Tamper

        try:
            Tamper.parse(str(value))
        except NeuralCommonsError as exc:
            raise ValueError(str(exc)) from None
        return str(value)

    @field_validator("models", mode="before")
    @classmethod
    def _split_models(cls, value):
        if isinstance(value, str):
            value = [name.strip() for name in value.split(",")]
        names = tuple(value)
        if not names or any(not name for name in names):
            raise ValueError("give one or more model names separated by commas, e.g. 'digits'")
        return names

    @field_validator("signer_key", mode="before")
    @classmethod
    def _check_key(cls, value):
        if value in (None, ""):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        digits = text[2:] if text.startswith("0x") else text
        try:
            ok = len(digits) == 64 and int(digits, 16) > 0
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("not a private key: give 32 bytes as 64 hex digits (0x optional)")
        return "0x" + digits

    def signer(self, account) -> str:
        """The attestation key: NC_SIGNER_KEY, else `account`'s own (test accounts)."""
        return self.signer_key.get_secret_value() if self.signer_key else account.private_key

    def as_env(self) -> dict[str, str]:
        """These settings as `NC_*` variables, for a child process (the key is left out)."""
        values = {
            "worker_dir": str(self.worker_dir),
            "result_port": str(self.result_port),
            "models": ",".join(self.models),
            "channel_state": str(self.channel_state),
            "deployments_dir": str(self.deployments_dir),
        }
        if self.tamper:
            values["tamper"] = self.tamper
        return {PREFIX + name.upper(): value for name, value in values.items()}


def write_state(path: Path, state: dict) -> None:
    """Writes a process's JSON state file whole or not at all (a temporary file, fsync'd, then renamed over
    it), readable by its owner only: the states hold secrets (a verifier's vote salts, a payer's session)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(json.dumps(state))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def load_settings(**overrides) -> Settings:
    """The settings from the environment (and `overrides`), or a `SettingsError` that
    names the first bad variable in one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = PREFIX + str(first["loc"][0]).upper() if first["loc"] else PREFIX + "*"
        reason = first["msg"].removeprefix("Value error, ")
        shown = "" if name == PREFIX + "SIGNER_KEY" else f" (got {first.get('input')!r})"
        raise SettingsError(f"{name}: {reason}{shown}") from None
