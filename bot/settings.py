"""Settings from the environment (names are a contract: see DESIGN.md)."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A setting that production cannot run without is absent."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    line_channel_secret: str | None = Field(default=None)
    line_channel_access_token: str | None = Field(default=None)
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    database_url: str = "sqlite:///./helpdesk.db"
    redis_url: str | None = None
    secret_key: str | None = None

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

    @model_validator(mode="after")
    def _demo_generates_secrets(self) -> Settings:
        if self.demo:
            self.line_channel_secret = self.line_channel_secret or secrets.token_hex(16)
            self.line_channel_access_token = self.line_channel_access_token or secrets.token_urlsafe(32)
        if not self.secret_key and self.demo:
            self.secret_key = secrets.token_urlsafe(32)
        return self

    def require_production_secrets(self) -> None:
        """Stop start-up, naming the variable, when production lacks a secret."""
        if self.demo:
            return
        for env_name, value in (
            ("LINE_CHANNEL_SECRET", self.line_channel_secret),
            ("LINE_CHANNEL_ACCESS_TOKEN", self.line_channel_access_token),
        ):
            if not value:
                raise MissingSetting(f"{env_name} is not set: the service cannot talk to LINE without it")
        if not self.secret_key:
            # Console sessions would not survive a restart; generate one but say so loudly.
            logging.getLogger(__name__).warning(
                "SECRET_KEY is not set: using a random key, so console sessions end at every restart"
            )
            self.secret_key = secrets.token_urlsafe(32)

    @property
    def channel_secret(self) -> str:
        assert self.line_channel_secret is not None, "require_production_secrets() runs at start-up"
        return self.line_channel_secret

    @property
    def access_token(self) -> str:
        assert self.line_channel_access_token is not None, "require_production_secrets() runs at start-up"
        return self.line_channel_access_token

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)


@lru_cache
def get_settings() -> Settings:
    return Settings()
