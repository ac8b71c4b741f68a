"""Settings are safe: secrets are SecretStr and production does not start without them (the demo makes its own)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from pydantic import SecretStr

from bot.settings import MissingSetting, Settings
from tests.conftest import HELPDESK, SECRET, TOKEN, helpdesk_env
from tests.support.fake_line import FakeLine

SECRET_NAMES = ("line_channel_secret", "line_channel_access_token", "secret_key")


POSTGRES = "postgresql://helpdesk@db.invalid/helpdesk"


def production(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "line_channel_secret": SECRET,
        "line_channel_access_token": TOKEN,
        "secret_key": "k" * 32,
        "database_url": POSTGRES,
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def test_secrets_are_secret_str_and_never_shown() -> None:
    settings = production(secret_key="the-session-key")
    for name in SECRET_NAMES:
        assert isinstance(getattr(settings, name), SecretStr), name
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for value in (SECRET, TOKEN, "the-session-key"):
        assert value not in shown
    # Their values reach only the code that needs them.
    assert (settings.channel_secret, settings.access_token, settings.session_secret) == (
        SECRET,
        TOKEN,
        "the-session-key",
    )


def test_secrets_come_from_the_environment_as_secret_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "from-env-secret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "from-env-token")
    monkeypatch.setenv("SECRET_KEY", "from-env-key")
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    settings.require_production_secrets()
    assert settings.session_secret == "from-env-key"
    assert "from-env" not in repr(settings)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_names_the_missing_secret(missing: str, how: str) -> None:
    settings = production(**{missing.lower(): None if how == "unset" else ""})
    with pytest.raises(MissingSetting, match=f"^{missing} is not set"):
        settings.require_production_secrets()


def test_the_demo_generates_its_own_secrets() -> None:
    settings = Settings(_env_file=None, demo=True)  # type: ignore[call-arg]
    settings.require_production_secrets()  # nothing missing
    for name in SECRET_NAMES:
        value = getattr(settings, name)
        assert isinstance(value, SecretStr) and len(value.get_secret_value()) >= 16, name


def test_the_embedded_setup_generates_a_session_key_and_says_so() -> None:
    settings = Settings(_env_file=None, line_channel_secret=SECRET, line_channel_access_token=TOKEN)  # type: ignore[call-arg]
    settings.require_production_secrets()
    assert settings.secret_key_generated and len(settings.session_secret) >= 16
    with pytest.raises(MissingSetting, match=r"^SECRET_KEY is not set"):
        Settings(  # type: ignore[call-arg]
            _env_file=None, line_channel_secret=SECRET, line_channel_access_token=TOKEN, redis_url="redis://x"
        ).require_production_secrets()


@pytest.mark.parametrize("secret_key", [None, ""], ids=["unset", "empty"])
def test_helpdesk_serve_refuses_to_start_in_production_without_secret_key(
    postgres_url: str, fake_line: FakeLine, secret_key: str | None
) -> None:
    env = helpdesk_env(postgres_url, fake_line, None)
    env.pop("SECRET_KEY")
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key

    done = subprocess.run([HELPDESK, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    assert SECRET not in done.stderr + done.stdout and TOKEN not in done.stderr + done.stdout
