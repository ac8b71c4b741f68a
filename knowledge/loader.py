"""Typed loader for everything in knowledge/: fails loudly at start-up when content is invalid."""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KNOWLEDGE_DIR = Path(__file__).parent
LINE_TEXT_LIMIT = 5000
LINE_QUICK_REPLY_LIMIT = 13
LINE_LABEL_LIMIT = 20

# The placeholders each reply may use; anything else in {braces} is a typo caught at start-up.
ALLOWED_PLACEHOLDERS: dict[str, set[str]] = {
    "welcome": {"name_part"},
    "greeting": {"name_part"},
    "file_saved": {"file_name"},
    "attachment_too_large": {"limit_mb"},
    "location": {"address_part"},
    "routing_pending": {"topic"},
}


class Button(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=LINE_LABEL_LIMIT)
    text: str = Field(min_length=1, max_length=300)


class Hotline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = Field(pattern=r"^\d{3,5}$")
    name: str
    what: str
    owner: str
    source: str


class Hotlines(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: str
    hotlines: list[Hotline]

    def by_number(self, number: str) -> Hotline:
        return next(h for h in self.hotlines if h.number == number)

    @model_validator(mode="after")
    def _required_numbers_present(self) -> Hotlines:
        numbers = {h.number for h in self.hotlines}
        missing = {"1300", "191", "1669", "1323"} - numbers
        if missing:
            raise ValueError(f"hotlines missing: {sorted(missing)}")
        return self


class Replies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    privacy_notice_version: str
    welcome: str
    privacy_notice: str
    consent_given: str
    consent_declined: str
    consent_withdrawn: str
    menu_prompt: str
    greeting: str
    thanks: str
    fallback: str
    cancelled: str
    sticker: str
    image_saved: str
    file_saved: str
    attachment_too_large: str
    attachment_unavailable: str
    audio: str
    video: str
    location: str
    unsupported: str
    group_not_supported: str
    sorry_error: str
    emergency: str
    routing_pending: str
    main_menu: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)
    consent_buttons: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)

    @model_validator(mode="after")
    def _texts_fit_line_and_placeholders_known(self) -> Replies:
        for name, value in self.__dict__.items():
            if not isinstance(value, str) or name == "privacy_notice_version":
                continue
            if len(value) > LINE_TEXT_LIMIT:
                raise ValueError(f"reply {name!r} is longer than LINE's {LINE_TEXT_LIMIT} characters")
            used = {field for _, field, _, _ in string.Formatter().parse(value) if field}
            unknown = used - ALLOWED_PLACEHOLDERS.get(name, set())
            if unknown:
                raise ValueError(f"reply {name!r} uses unknown placeholders {sorted(unknown)}")
        return self

    @field_validator("emergency")
    @classmethod
    def _emergency_gives_every_hotline(cls, value: str) -> str:
        for number in ("1300", "191", "1669", "1323"):
            if not re.search(rf"\b{number}\b", value):
                raise ValueError(f"the emergency reply must give {number}")
        return value


class Knowledge(BaseModel):
    model_config = ConfigDict(frozen=True)

    replies: Replies
    hotlines: Hotlines


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """Read and validate every knowledge file; raises pydantic.ValidationError naming what is wrong."""
    return Knowledge(
        replies=Replies.model_validate(_read_yaml(directory / "replies" / "core.yaml")),
        hotlines=Hotlines.model_validate(_read_yaml(directory / "hotlines.yaml")),
    )


@lru_cache
def get_knowledge() -> Knowledge:
    return load_knowledge()
