"""The officers' JSON API, `/api/v1/...` (contracts in DESIGN.md "HTTP" and "Tickets over the API").

Routes are thin: they check the request's shape, call storage's service functions (which scope every query
by the officer's role and provinces in SQL) and shape the answer. Errors are JSON `{"message": ...}`
(bot/app.py's handlers): 401 without a valid token, 404 for a ticket outside the caller's provinces (it does
not exist for them), 403 for an action their role or office may not take, 409 for a forbidden transition.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from console import schemas
from console.deps import ConsoleContext, Context, CurrentOfficer, DbSession, scope_of
from console.security import create_access_token
from storage import officers, tickets
from storage.base import utcnow
from storage.db import Database
from storage.officers import LOCKOUT, MAX_FAILED_LOGINS, OfficerError, SignIn

router = APIRouter(prefix="/api/v1")

BAD_SIGN_IN = (
    f"wrong username or password (after {MAX_FAILED_LOGINS} failed sign-ins in a row an account is locked "
    f"for {int(LOCKOUT.total_seconds() // 60)} minutes)"
)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    username: str
    role: str
    provinces: list[str]


@router.post("/auth/token", tags=["auth"])
def sign_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], context: Context) -> TokenOut:
    """OAuth2 password flow: form fields `username` and `password` → a bearer token valid for 15 minutes."""
    # Its own transaction, committed whatever the outcome: a failed attempt must be counted.
    with context.db.session() as db_session:
        result = officers.authenticate(db_session=db_session, username=form.username, password=form.password)
    if result.outcome is not SignIn.ok or result.officer is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_SIGN_IN, headers={"WWW-Authenticate": "Bearer"})
    token = create_access_token(secret=context.secret_key, officer_id=result.officer.id, minutes=context.token_minutes)
    return TokenOut(access_token=token, expires_in=context.token_minutes * 60)


@router.get("/me", tags=["auth"])
def me(officer: CurrentOfficer) -> MeOut:
    """The signed-in officer: username, role and provinces (official Thai names)."""
    names = sorted(officers.province_name(code) or code for code in officer.provinces)
    return MeOut(username=officer.username, role=officer.role.value, provinces=names)


# --- tickets ------------------------------------------------------------------------------------------------


def _ticket_out(db_session: DbSession, ticket: tickets.Ticket) -> dict[str, Any]:
    names = officers.usernames(db_session=db_session, officer_ids=[ticket.assignee_id] if ticket.assignee_id else [])
    assignee = names.get(ticket.assignee_id) if ticket.assignee_id is not None else None
    return schemas.ticket_json(ticket, now=utcnow(), assignee=assignee)


@router.get("/tickets", tags=["tickets"])
def list_tickets(
    db_session: DbSession,
    officer: CurrentOfficer,
    status_: Annotated[str | None, Query(alias="status")] = None,
    kind: str | None = None,
    urgency: str | None = None,
    province: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The tickets of the caller's provinces (all for an admin): urgent and overdue first, then newest."""
    filters = {"status": status_, "kind": kind, "urgency": urgency, "province": province, "q": q, "overdue": overdue}
    _check_choice("status", status_, tickets.Status)
    _check_choice("kind", kind, tickets.Kind)
    _check_choice("urgency", urgency, tickets.Urgency)
    items, total = tickets.list_tickets(
        db_session=db_session,
        scope=scope_of(officer),
        status=status_,
        kind=kind,
        urgency=urgency,
        province=province,
        q=q,
        overdue=overdue,
        page=page,
        page_size=page_size,
    )
    names = officers.usernames(db_session=db_session, officer_ids=[t.assignee_id for t in items if t.assignee_id])
    now = utcnow()
    officers.audit(
        db_session=db_session,
        officer_id=officer.id,
        action="ticket.list",
        detail={
            # The search text may name a person: the log says a search was made, not what it was.
            "filters": {k: (True if k == "q" else v) for k, v in filters.items() if v is not None},
            "page": page,
            "total": total,
            "tickets": [t.id for t in items],
        },
    )
    return {
        "items": [
            schemas.ticket_json(t, now=now, assignee=names.get(t.assignee_id) if t.assignee_id else None) for t in items
        ],
        "total": total,
        "page": page,
        "page_size": page_size,
    }


@router.get("/tickets/{ticket_id}", tags=["tickets"])
def get_ticket(ticket_id: str, db_session: DbSession, officer: CurrentOfficer) -> dict[str, Any]:
    """One ticket with its whole history (public and internal); the read is written to the audit log."""
    ticket = tickets.get_ticket(db_session=db_session, scope=scope_of(officer), ticket_id=ticket_id)
    if ticket is None:
        raise tickets.TicketNotFound(ticket_id)
    body = _ticket_out(db_session, ticket)
    body["details"] = ticket.details
    body["location"] = ticket.location
    body["legal_basis"] = ticket.legal_basis
    body["attachments"] = tickets.attachment_ids(db_session=db_session, ticket_id=ticket.id)
    body["history"] = [schemas.event_json(e) for e in tickets.history(db_session=db_session, ticket=ticket)]
    officers.audit(db_session=db_session, officer_id=officer.id, action="ticket.read", ticket_id=ticket.id)
    return body


@router.patch("/tickets/{ticket_id}", tags=["tickets"])
def update_ticket(
    ticket_id: str, patch: schemas.TicketPatch, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    """`{"status"}` along the status machine (409 otherwise) and/or `{"assignee": username | null}`."""
    scope = scope_of(officer)
    if not patch.model_fields_set & {"status", "assignee"}:
        raise HTTPException(422, 'send "status" and/or "assignee"')
    ticket = None
    if "assignee" in patch.model_fields_set:
        current = tickets.get_ticket(db_session=db_session, scope=scope, ticket_id=ticket_id)
        if current is None:
            raise tickets.TicketNotFound(ticket_id)
        assignee_id = None
        if patch.assignee is not None:
            try:
                assignee_id = officers.assignable(
                    db_session=db_session, username=patch.assignee, province_code=current.province_code
                )
            except OfficerError as exc:
                raise HTTPException(422, str(exc)) from exc
        ticket = tickets.assign(
            db_session=db_session, scope=scope, ticket_id=ticket_id, assignee_id=assignee_id, actor=officer.actor
        )
    if patch.status is not None:
        ticket = tickets.change_status(
            db_session=db_session, scope=scope, ticket_id=ticket_id, status=patch.status, actor=officer.actor
        )
    elif "status" in patch.model_fields_set:
        raise HTTPException(422, "status cannot be null")
    assert ticket is not None
    db_session.flush()
    officers.audit(db_session=db_session, officer_id=officer.id, action="ticket.update", ticket_id=ticket.id)
    return _ticket_out(db_session, ticket)


@router.post("/tickets/{ticket_id}/messages", status_code=201, tags=["tickets"])
def post_message(
    ticket_id: str, message: schemas.TextIn, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    """A public message: recorded in the history and pushed to the citizen on LINE."""
    event = tickets.add_public_message(
        db_session=db_session, scope=scope_of(officer), ticket_id=ticket_id, text=message.text, actor=officer.actor
    )
    return schemas.event_json(event)


@router.post("/tickets/{ticket_id}/notes", status_code=201, tags=["tickets"])
def post_note(ticket_id: str, note: schemas.TextIn, db_session: DbSession, officer: CurrentOfficer) -> dict[str, Any]:
    """An internal note: in the history for officers, never sent to the citizen."""
    event = tickets.add_note(
        db_session=db_session, scope=scope_of(officer), ticket_id=ticket_id, text=note.text, actor=officer.actor
    )
    return schemas.event_json(event)


@router.post("/tickets/{ticket_id}/transfers", status_code=201, tags=["transfers"])
def request_transfer(
    ticket_id: str, body: schemas.TransferIn, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    """Ask another province to take the ticket: ownership moves only when one of its officers accepts."""
    transfer = tickets.request_transfer(
        db_session=db_session,
        scope=scope_of(officer),
        ticket_id=ticket_id,
        to_province=body.to_province,
        reason=body.reason,
        actor=officer.actor,
    )
    return schemas.transfer_json(transfer)


def _answer_transfer(
    transfer_id: int, accept: bool, body: schemas.AnswerIn | None, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    try:
        transfer = tickets.answer_transfer(
            db_session=db_session,
            scope=scope_of(officer),
            transfer_id=transfer_id,
            accept=accept,
            reason=body.reason if body else None,
            actor=officer.actor,
        )
    except tickets.TicketNotFound:
        # A transfer that exists but is not the caller's to see: 403 like every other non-receiver (DESIGN.md);
        # it tells only that the number exists, nothing of the ticket.
        if tickets.get_transfer(db_session=db_session, scope=tickets.Scope.admin(), transfer_id=transfer_id):
            raise tickets.NotAllowed("only an officer of the receiving province may answer a transfer") from None
        raise
    return schemas.transfer_json(transfer)


@router.post("/transfers/{transfer_id}/accept", tags=["transfers"])
def accept_transfer(
    transfer_id: int, db_session: DbSession, officer: CurrentOfficer, body: schemas.AnswerIn | None = None
) -> dict[str, Any]:
    """Only an officer of the receiving province (403 for anyone else, the requester included)."""
    return _answer_transfer(transfer_id, True, body, db_session, officer)


@router.post("/transfers/{transfer_id}/reject", tags=["transfers"])
def reject_transfer(
    transfer_id: int, db_session: DbSession, officer: CurrentOfficer, body: schemas.AnswerIn | None = None
) -> dict[str, Any]:
    """Only an officer of the receiving province (403 for anyone else, the requester included)."""
    return _answer_transfer(transfer_id, False, body, db_session, officer)


@router.post("/tickets/{ticket_id}/referrals", status_code=201, tags=["referrals"])
def refer(ticket_id: str, body: schemas.ReferralIn, db_session: DbSession, officer: CurrentOfficer) -> dict[str, Any]:
    """Refer to another agency; ownership stays. Needs the person's consent or a legal basis: `basis`, or
    else what the ticket recorded (its legal basis, or the person's consent to be contacted)."""
    scope = scope_of(officer)
    basis = body.basis
    if basis is None:
        ticket = tickets.get_ticket(db_session=db_session, scope=scope, ticket_id=ticket_id)
        if ticket is None:
            raise tickets.TicketNotFound(ticket_id)
        if ticket.legal_basis:
            basis = f"legal:{ticket.legal_basis}"
        elif ticket.contact_consent:
            basis = "consent"
    referral = tickets.refer(
        db_session=db_session,
        scope=scope,
        ticket_id=ticket_id,
        agency=body.agency,
        note=body.note,
        basis=basis,
        actor=officer.actor,
    )
    return schemas.referral_json(referral)


@router.patch("/referrals/{referral_id}", tags=["referrals"])
def update_referral(
    referral_id: int, body: schemas.ReferralPatch, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    """requested → accepted/rejected → done_successful/done_unsuccessful, or revoked (409 otherwise)."""
    referral = tickets.update_referral(
        db_session=db_session,
        scope=scope_of(officer),
        referral_id=referral_id,
        status=body.status,
        note=body.note,
        actor=officer.actor,
    )
    return schemas.referral_json(referral)


@router.post("/tickets/{ticket_id}/collaborators", status_code=201, tags=["collaborators"])
def invite_collaborator(
    ticket_id: str, body: schemas.CollaboratorIn, db_session: DbSession, officer: CurrentOfficer
) -> dict[str, Any]:
    """Give another province's office read access and internal notes on this ticket."""
    row = tickets.invite_collaborator(
        db_session=db_session, scope=scope_of(officer), ticket_id=ticket_id, province=body.province, actor=officer.actor
    )
    return {
        "ticket_id": row.ticket_id,
        "province": officers.province_name(row.province_code) or row.province_code,
        "created_at": row.created_at.isoformat(),
    }


def _check_choice(name: str, value: str | None, choices: type[enum.StrEnum]) -> None:
    if value is not None and value not in choices.__members__:
        raise HTTPException(422, f"{name} must be one of: {', '.join(choices.__members__)}")


# --- errors and mounting -------------------------------------------------------------------------------------


_ERROR_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (tickets.TicketNotFound, 404),
    (tickets.NotAllowed, 403),
    (tickets.ReferralBasisRequired, 422),
    (tickets.TransitionNotAllowed, 409),
    (tickets.TicketError, 409),
)


async def ticket_error(_: Request, exc: Exception) -> JSONResponse:
    """A service function's refusal as JSON: not found (or outside your provinces) 404, not yours to do 403,
    a forbidden change 409."""
    for cls, code in _ERROR_STATUS:
        if isinstance(exc, cls):
            message = str(exc)
            if code == 404:
                what = message if message.startswith(("transfer ", "referral ")) else f"ticket {message}"
                message = f"{what} not found"
            return JSONResponse({"message": message}, status_code=code)
    raise exc


def mount(app: FastAPI, *, db: Database, secret_key: str) -> None:
    """Add the API to the service's app (bot/app.py calls this; console never imports bot)."""
    app.state.console = ConsoleContext(db=db, secret_key=secret_key)
    app.include_router(router)
    app.add_exception_handler(tickets.TicketError, ticket_error)
