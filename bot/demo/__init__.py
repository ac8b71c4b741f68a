"""Demo mode only: the fake LINE platform (bot/line/fake.py) at `/fake-line` and a LINE-like chat simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from bot.demo.simulator import build_simulator_router
from bot.line.fake import FakeLinePlatform, build_fake_line_router

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["FakeLinePlatform", "build_demo_router"]


def build_demo_router(settings: Settings) -> APIRouter:
    """Return the fake LINE API and the simulator, sharing one in-memory platform."""
    platform = FakeLinePlatform()
    router = APIRouter()
    router.include_router(build_fake_line_router(platform, lambda: settings.access_token))
    router.include_router(build_simulator_router(platform, settings))
    return router
