"""Placeholder until the entity extractor lands (being written now)."""

from __future__ import annotations

from typing import Any


def extract_entities(text: str) -> dict[str, Any]:
    return {}
