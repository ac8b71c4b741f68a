"""One webhook event → one committed turn: user, messages, state, effects and outbox rows together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics
from bot.engine import run_turn
from bot.line.client import LineClient
from bot.line.events import Inbound, parse
from bot.line.turns import (
    STORED_MEDIA,
    Prefetched,
    event_kind,
    inbound_payload,
    location_of,
    prefetch,
    received_at,
    reply_deadline,
)
from bot.logs import user_ref
from bot.nlu import understand
from bot.nlu.coordinates import understand_location
from bot.nlu.entities import redact
from bot.outcome import apply_outcome, queue_replies
from bot.settings import Settings
from bot.ticket_port import SqlTicketPort
from handlers import forms
from handlers.base import AttachmentInfo, DialogueState, EventKind, Person, TextReply, Turn, Understanding
from knowledge.loader import Knowledge
from storage import attachments, conversations, dialogue, events, privacy, users
from storage.base import utcnow
from storage.conversations import Direction
from storage.db import Database
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=7)
PROFILES_REMEMBERED = 50_000
LOADING_AFTER_SECONDS = 0.4  # turns quicker than this never show the animation


Deliver = Callable[[list[OutboxMessage]], Awaitable[None]]


class EventProcessor:
    """Processes events at least once with effects exactly once (the processed-event ledger)."""

    def __init__(
        self,
        *,
        db: Database,
        line: LineClient,
        knowledge: Knowledge,
        settings: Settings,
        deliver: Deliver,
    ) -> None:
        self.db = db
        self.line = line
        self.knowledge = knowledge
        self.settings = settings
        self.deliver = deliver
        # Users whose LINE profile is recent (an LRU): their events skip the pre-read entirely.
        self._profiles_fetched: OrderedDict[str, datetime] = OrderedDict()
        self._profiles_lock = threading.Lock()

    async def process(self, raw: dict[str, Any]) -> None:
        started = time.perf_counter()
        inbound = parse(raw)
        if self._profile_known_fresh(inbound):
            # The common case, a returning user: skip the read. A duplicate still stops at the ledger.
            already_processed, needs_profile = False, False
        else:
            already_processed, needs_profile = await asyncio.to_thread(self._precheck, inbound)
        if already_processed:
            metrics.EVENTS.labels(type=inbound.type, result="duplicate").inc()
            return
        loading = asyncio.create_task(self._loading_if_slow(inbound))
        try:
            prefetched = await prefetch(
                self.line, inbound, needs_profile=needs_profile, content_limit=self.settings.attachment_max_bytes
            )
            rows, result = await asyncio.to_thread(self._commit, inbound, prefetched, received_at(raw))
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
        metrics.EVENTS.labels(type=inbound.type, result=result).inc()
        metrics.PROCESSING_SECONDS.observe(time.perf_counter() - started)
        log.info(
            "event processed",
            extra={
                "event_type": inbound.type,
                "result": result,
                "user": user_ref(inbound.user_id),
                "outbox": len(rows),
            },
        )
        await self._deliver_safely(rows)

    async def _deliver_safely(self, rows: list[OutboxMessage]) -> None:
        """The turn is committed: a delivery problem is the outbox relay's to retry, not the queue's."""
        if not rows:
            return
        try:
            await self.deliver(rows)
        except Exception:
            log.exception("immediate delivery failed; the outbox relay will retry")

    async def give_up(self, raw: dict[str, Any], error: str) -> None:
        """After the last retry: apologise to the user (never silence) and mark the event done."""
        inbound = parse(raw)
        rows = await asyncio.to_thread(self._commit_apology, inbound, error)
        metrics.EVENTS.labels(type=inbound.type, result="failed").inc()
        await self._deliver_safely(rows)

    # --- before the transaction -----------------------------------------------------------------

    def _profile_known_fresh(self, inbound: Inbound) -> bool:
        if inbound.type not in ("message", "postback") or inbound.source_type != "user" or not inbound.user_id:
            return False
        with self._profiles_lock:
            fetched = self._profiles_fetched.get(inbound.user_id)
        return fetched is not None and utcnow() - fetched <= PROFILE_MAX_AGE

    def _remember_profile(self, line_user_id: str, fetched: datetime | None) -> None:
        if fetched is None:
            return
        with self._profiles_lock:
            self._profiles_fetched[line_user_id] = fetched
            self._profiles_fetched.move_to_end(line_user_id)
            while len(self._profiles_fetched) > PROFILES_REMEMBERED:
                self._profiles_fetched.popitem(last=False)

    def _precheck(self, inbound: Inbound) -> tuple[bool, bool]:
        """One read before any I/O: was the event processed already, and is the profile worth fetching?"""
        with self.db.session() as db_session:
            if events.was_processed(db_session=db_session, webhook_event_id=inbound.event_id):
                return True, False
            if inbound.source_type != "user" or not inbound.user_id or inbound.mode != "active":
                return False, False
            if inbound.type == "follow":
                return False, True
            if inbound.type not in ("message", "postback"):
                return False, False
            user = users.get_by_line_id(db_session=db_session, line_user_id=inbound.user_id)
            fetched = user.profile_fetched_at if user is not None else None
            return False, fetched is None or utcnow() - fetched > PROFILE_MAX_AGE

    async def _loading_if_slow(self, inbound: Inbound) -> None:
        if inbound.source_type != "user" or not inbound.user_id or inbound.type not in ("message", "postback"):
            return
        await asyncio.sleep(LOADING_AFTER_SECONDS)
        await self.line.show_loading(inbound.user_id, seconds=20)

    # --- the transaction --------------------------------------------------------------------------

    def _commit(
        self, inbound: Inbound, prefetched: Prefetched, received: datetime | None
    ) -> tuple[list[OutboxMessage], str]:
        """The turn's transaction: the ledger, the messages, the effects, the dialogue state and the outbox."""
        with self.db.session() as db_session:
            if not events.record_processed(
                db_session=db_session, webhook_event_id=inbound.event_id, event_type=inbound.type
            ):
                return [], "duplicate"
            return self._apply(db_session, inbound, prefetched, received)

    def _apply(
        self,
        db_session: Session,
        inbound: Inbound,
        prefetched: Prefetched,
        received: datetime | None,
    ) -> tuple[list[OutboxMessage], str]:
        """Inside the transaction: who it is, whether the event is a turn at all, the turn, its outcome."""
        if inbound.mode != "active":
            return [], "ignored_standby"
        if inbound.source_type in ("group", "room"):
            return self._group_event(db_session, inbound, received)
        if inbound.source_type != "user" or not inbound.user_id:
            return [], "ignored_no_user"
        user, is_new = users.get_or_create(db_session=db_session, line_user_id=inbound.user_id)
        if prefetched.profile_fetched:
            users.record_profile(
                db_session=db_session, user=user, display_name=prefetched.display_name, language=prefetched.language
            )
        self._remember_profile(user.line_user_id, user.profile_fetched_at)
        lifecycle = self._lifecycle_event(db_session, inbound, user)
        kind = event_kind(inbound)
        if lifecycle is not None or kind is None:
            return [], lifecycle or "ignored_type"
        turn = self._turn(db_session, inbound, prefetched, user, is_new, kind)
        handler_name, outcome = run_turn(turn, self.knowledge)
        metrics.HANDLER_TURNS.labels(handler=handler_name).inc()
        rows = apply_outcome(
            db_session,
            user=user,
            inbound=inbound,
            outcome=outcome,
            state_before=turn.state,
            knowledge=self.knowledge,
            received=received,
            fresh_seconds=self.settings.reply_token_fresh_seconds,
        )
        return rows, "handled"

    def _group_event(
        self, db_session: Session, inbound: Inbound, received: datetime | None
    ) -> tuple[list[OutboxMessage], str]:
        """Groups and rooms get one polite line when the bot joins, and nothing else (privacy)."""
        if inbound.type != "join":
            return [], "ignored_group"
        rows = queue_replies(
            db_session,
            inbound=inbound,
            to=inbound.chat_id or "unknown",
            replies=[TextReply(self.knowledge.replies.group_not_supported)],
            deadline=self._deadline(inbound, received),
        )
        return rows, "group_join"

    def _lifecycle_event(self, db_session: Session, inbound: Inbound, user: users.LineUser) -> str | None:
        """Follow, unfollow and unsend change the user's record; only a follow goes on to a turn."""
        if inbound.type == "unfollow":
            users.mark_unfollowed(db_session=db_session, user=user)
            return "unfollowed"
        if inbound.type == "unsend" and inbound.unsent_message_id:
            conversations.forget_unsent(
                db_session=db_session, line_user_id=user.line_user_id, line_message_id=inbound.unsent_message_id
            )
            return "unsent"
        if inbound.type == "follow":
            users.mark_followed(db_session=db_session, user=user)
        return None

    def _turn(
        self,
        db_session: Session,
        inbound: Inbound,
        prefetched: Prefetched,
        user: users.LineUser,
        is_new: bool,
        kind: EventKind,
    ) -> Turn:
        """The turn as handlers see it: the person, what they sent and meant, where the conversation stands."""
        # PDPA: after a decline only what the service needs is kept: no message, attachment or name.
        keep = users.keeps_content(user)
        attachment = self._store_attachment(db_session, inbound, prefetched, keep) if kind in STORED_MEDIA else None
        state = DialogueState.from_json(dialogue.load(db_session=db_session, line_user_id=user.line_user_id))
        understanding = self._understand(kind, inbound, state)
        if keep:
            conversations.add_message(
                db_session=db_session,
                line_user_id=user.line_user_id,
                direction=Direction.inbound,
                kind=kind.value,
                # PDPA: national IDs and phone numbers are kept masked until a flow collects them with consent.
                text=redact(inbound.text or inbound.postback_data or "") or None,
                payload=inbound_payload(inbound),
                webhook_event_id=inbound.event_id,
                line_message_id=inbound.message_id,
                intent=understanding.intent,
            )
        stored = (
            privacy.summary(db_session=db_session, line_user_id=user.line_user_id)
            if understanding.intent == "data_rights"
            else None
        )
        person = Person(
            user.line_user_id,
            user.display_name,
            user.consent_state.value,
            is_new,
            sensitive_consent=user.sensitive_consent_state.value,
        )
        return Turn(
            person=person,
            kind=kind,
            understanding=understanding,
            state=state,
            text=inbound.text,
            postback_data=inbound.postback_data,
            attachment=attachment,
            location=location_of(inbound),
            now=time.time(),
            stored=stored,
            tickets=SqlTicketPort(
                db_session,
                user.line_user_id,
                inbound.event_id,
                self.settings.secret_key.get_secret_value() if self.settings.secret_key else None,
                utcnow(),
            ),
        )

    def _understand(self, kind: EventKind, inbound: Inbound, state: DialogueState) -> Understanding:
        """NLU reads the text against what the bot has just asked (a bare "67" after "how old?" is an age)."""
        expect = None if forms.expired(state, time.time()) else state.expect or state.requested_slot
        if kind is EventKind.text and inbound.text:
            return understand(inbound.text, expect if expect in forms.EXPECTABLE else None)
        if kind is EventKind.postback and inbound.postback_data and "=" not in inbound.postback_data:
            return understand(inbound.postback_data)  # a button that sends a command word ("consent:given")
        if kind is EventKind.location and inbound.location:
            # Its address ("… จ.ขอนแก่น 40000") or its coordinates answer "which province?".
            latitude, longitude, address, _title = inbound.location
            return understand_location(latitude, longitude, address)
        return Understanding("out_of_scope", 0.0)

    def _store_attachment(
        self, db_session: Session, inbound: Inbound, prefetched: Prefetched, keep: bool = True
    ) -> AttachmentInfo:
        limit = self.settings.attachment_max_bytes
        kind = inbound.message_type or "file"
        if not keep or not prefetched.content_fetched or not inbound.user_id or not inbound.message_id:
            return AttachmentInfo(None, kind, inbound.file_name, 0, False, False, limit)
        size = inbound.file_size if prefetched.content is None and inbound.file_size else len(prefetched.content or b"")
        row = attachments.save(
            db_session=db_session,
            line_user_id=inbound.user_id,
            line_message_id=inbound.message_id,
            kind=kind,
            file_name=inbound.file_name,
            content_type=prefetched.content_type,
            content=prefetched.content,
            size_bytes=size,
            too_large=prefetched.content_too_large,
        )
        return AttachmentInfo(row.id, kind, row.file_name, row.size_bytes, row.too_large, True, limit)

    def _deadline(self, inbound: Inbound, received: datetime | None) -> datetime | None:
        return reply_deadline(inbound, received, self.settings.reply_token_fresh_seconds)

    def _commit_apology(self, inbound: Inbound, error: str) -> list[OutboxMessage]:
        with self.db.session() as db_session:
            if not events.record_processed(
                db_session=db_session, webhook_event_id=inbound.event_id, event_type=inbound.type
            ):
                return []
            log.error(
                "event given up",
                extra={"event_type": inbound.type, "user": user_ref(inbound.user_id), "error": error[:300]},
            )
            if inbound.source_type != "user" or not inbound.user_id or inbound.type in ("unfollow", "unsend"):
                return []
            return queue_replies(
                db_session,
                inbound=inbound,
                to=inbound.user_id,
                replies=[TextReply(self.knowledge.replies.sorry_error)],
                deadline=self._deadline(inbound, None),
            )
