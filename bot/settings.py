"""Settings from the environment (names are a contract: see DESIGN.md)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A setting that production cannot run without is absent."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Secrets are SecretStr: a repr, a log line or a validation error shows '**********', never the value.
    line_channel_secret: SecretStr | None = Field(default=None)
    line_channel_access_token: SecretStr | None = Field(default=None)
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    database_url: str = "sqlite:///./helpdesk.db"
    redis_url: str | None = None
    secret_key: SecretStr | None = None

    # Not part of the contract; tuning knobs with safe defaults.
    demo: bool = False
    log_level: str = "INFO"
    webhook_max_body_bytes: int = 1024 * 1024
    dedup_ttl_seconds: int = 2 * 24 * 3600
    worker_concurrency: int = 8
    queue_partitions: int = 32
    reply_token_fresh_seconds: float = 50.0
    outbound_max_attempts: int = 8
    outbound_timeout_seconds: float = 10.0
    attachment_max_bytes: int = 10 * 1024 * 1024
    sla_job_interval_seconds: float = 30.0  # how often the job runner looks for SLA work (bot/jobs.py)

    @model_validator(mode="after")
    def _demo_generates_secrets(self) -> Settings:
        if self.demo:
            if not _value(self.line_channel_secret):
                self.line_channel_secret = SecretStr(secrets.token_hex(16))
            if not _value(self.line_channel_access_token):
                self.line_channel_access_token = SecretStr(secrets.token_urlsafe(32))
        if not _value(self.secret_key) and not self.is_production:
            # The embedded laptop setup (SQLite, no Redis) may run without one; production may not.
            self.secret_key = SecretStr(secrets.token_urlsafe(32))
            self._secret_key_generated = True
        return self

    _secret_key_generated: bool = PrivateAttr(default=False)

    @property
    def secret_key_generated(self) -> bool:
        """SECRET_KEY was made up at start-up (embedded setup): sessions end when the process does."""
        return self._secret_key_generated

    @property
    def is_production(self) -> bool:
        """PostgreSQL or Redis: a real deployment, where every secret must be given (never generated)."""
        return bool(self.redis_url) or not self.database_url.startswith("sqlite")

    def require_production_secrets(self) -> None:
        """Stop start-up, naming the variable, when a secret is missing: the LINE secrets outside the demo, and
        SECRET_KEY in production (PostgreSQL or Redis; the embedded laptop setup generates one and warns)."""
        if self.demo:
            return
        for env_name, value, why in (
            ("LINE_CHANNEL_SECRET", self.line_channel_secret, "the service cannot check LINE's webhooks without it"),
            ("LINE_CHANNEL_ACCESS_TOKEN", self.line_channel_access_token, "the service cannot talk to LINE without it"),
            (
                "SECRET_KEY",
                self.secret_key,
                "console sessions and tokens need a fixed secret in production (make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`; only the embedded SQLite setup "
                "generates one)",
            ),
        ):
            if not _value(value):
                raise MissingSetting(f"{env_name} is not set: {why}")

    @property
    def channel_secret(self) -> str:
        value = _value(self.line_channel_secret)
        assert value, "require_production_secrets() runs at start-up"
        return value

    @property
    def access_token(self) -> str:
        value = _value(self.line_channel_access_token)
        assert value, "require_production_secrets() runs at start-up"
        return value

    @property
    def session_secret(self) -> str:
        """SECRET_KEY's value, for signing console sessions and tokens."""
        value = _value(self.secret_key)
        assert value, "require_production_secrets() runs at start-up"
        return value

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
