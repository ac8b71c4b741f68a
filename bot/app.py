"""The FastAPI app factory: webhook, operations endpoints, and in demo mode the simulator and fake LINE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import ops, webhook
from bot.runtime import Runtime
from bot.settings import Settings, get_settings
from console import api as console_api


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(workers=run_workers)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="พม. ช่วยได้ — welfare help desk on LINE",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.queue = runtime.queue
    app.include_router(webhook.router)
    app.include_router(ops.router)
    console_api.mount(app, db=runtime.db, secret_key=settings.session_secret)
    if settings.demo:
        from bot.demo import build_demo_router

        app.include_router(build_demo_router(settings))  # its `GET /` leads to the simulator
    else:
        app.add_api_route("/", ops.service_root, methods=["GET"], include_in_schema=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"message": "invalid request", "errors": exc.errors()}, status_code=422)

    return app
