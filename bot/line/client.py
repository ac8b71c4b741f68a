"""The official line-bot-sdk v3 async client, pointed at LINE_API_BASE_URL and LINE_DATA_API_BASE_URL."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallResult:
    """How LINE answered: HTTP status (0 when no answer came) and LINE's reason on failure."""

    status: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Profile:
    display_name: str | None
    language: str | None


@dataclass(frozen=True)
class Content:
    data: bytes
    content_type: str | None


def _reason(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
        message = parsed.get("message", "") if isinstance(parsed, dict) else ""
        details = parsed.get("details") if isinstance(parsed, dict) else None
        return f"{message} {json.dumps(details, ensure_ascii=False)}".strip() if details else str(message)
    except ValueError:
        return str(body or exc.reason or "")[:500]


class LineClient:
    """Reply, push (with X-Line-Retry-Key), loading animation, profile and message content."""

    def __init__(self, *, access_token: str, api_base_url: str, data_api_base_url: str, timeout: float) -> None:
        self._timeout = timeout
        self._api_client = AsyncApiClient(Configuration(host=api_base_url.rstrip("/"), access_token=access_token))
        self._data_client = AsyncApiClient(Configuration(host=data_api_base_url.rstrip("/"), access_token=access_token))
        self.messaging = AsyncMessagingApi(self._api_client)
        self.blob = AsyncMessagingApiBlob(self._data_client)

    async def close(self) -> None:
        await self._api_client.close()
        await self._data_client.close()

    async def _call(self, endpoint: str, coroutine: Any) -> CallResult:
        try:
            response = await coroutine
            result = CallResult(int(response.status_code))
        except ApiException as exc:
            result = CallResult(int(exc.status or 0), _reason(exc))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            result = CallResult(0, f"{type(exc).__name__}: {exc}"[:500])
        except ValueError:
            # The SDK raises ApiException for every non-2xx answer before it reads the body, so a
            # ValueError here is a 2xx whose body its models did not expect: LINE accepted the call.
            result = CallResult(200, "accepted (unexpected response body)")
        metrics.OUTBOUND_CALLS.labels(endpoint=endpoint, status=str(result.status)).inc()
        return result

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> CallResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        return await self._call(
            "reply", self.messaging.reply_message_with_http_info(request, _request_timeout=self._timeout)
        )

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> CallResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return await self._call(
            "push",
            self.messaging.push_message_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self._timeout
            ),
        )

    async def show_loading(self, user_id: str, seconds: int = 20) -> CallResult:
        request = ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=seconds)
        return await self._call(
            "loading", self.messaging.show_loading_animation_with_http_info(request, _request_timeout=self._timeout)
        )

    async def profile(self, user_id: str) -> Profile | None:
        try:
            found = await asyncio.wait_for(self.messaging.get_profile(user_id), self._timeout)
        except (ApiException, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.info("profile unavailable", extra={"error": type(exc).__name__})
            metrics.OUTBOUND_CALLS.labels(endpoint="profile", status="error").inc()
            return None
        metrics.OUTBOUND_CALLS.labels(endpoint="profile", status="200").inc()
        return Profile(display_name=found.display_name, language=found.language)

    async def content(self, message_id: str) -> Content | None:
        try:
            response = await self.blob.get_message_content_with_http_info(message_id, _request_timeout=self._timeout)
        except (ApiException, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.info("content unavailable", extra={"error": type(exc).__name__})
            metrics.OUTBOUND_CALLS.labels(endpoint="content", status="error").inc()
            return None
        metrics.OUTBOUND_CALLS.labels(endpoint="content", status=str(response.status_code)).inc()
        content_type = response.headers.get("Content-Type") if response.headers else None
        return Content(data=bytes(response.data or b""), content_type=content_type)
