"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database (and Redis, in production) can be reached."""
    checks = await request.app.state.runtime.ready()
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


async def service_root() -> dict[str, str]:
    """`GET /` outside the demo: say what this is and where to look (the demo sends `/` to the simulator)."""
    return {"service": "พม. ช่วยได้: welfare help desk on LINE", "webhook": "/line/webhook", "health": "/healthz"}


@router.get("/metrics")
async def metrics_text() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
