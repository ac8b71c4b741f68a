"""FastAPI dependencies of the officers' API: the console context, a database session, the signed-in officer.

`DbSession` opens one transaction around the route function (committed when it returns, before the response
is sent; rolled back when it raises). `CurrentOfficer` is the officer named by a valid bearer token, read from
the database on every request (401 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from console.security import TOKEN_MINUTES, InvalidToken, officer_id_from_token
from storage import officers
from storage.db import Database
from storage.officers import OfficerIdentity
from storage.tickets import Scope

TOKEN_URL = "/api/v1/auth/token"


@dataclass(frozen=True)
class ConsoleContext:
    """What the console needs from the service that mounts it (bot/app.py): the database and SECRET_KEY."""

    db: Database
    secret_key: str
    token_minutes: int = TOKEN_MINUTES


def get_context(request: Request) -> ConsoleContext:
    context: ConsoleContext = request.app.state.console
    return context


Context = Annotated[ConsoleContext, Depends(get_context)]


def get_db(context: Context) -> Iterator[Session]:
    with context.db.session() as db_session:
        yield db_session


DbSession = Annotated[Session, Depends(get_db, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
TokenDep = Annotated[str | None, Depends(_bearer)]


def unauthorised(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def get_current_officer(db_session: DbSession, context: Context, token: TokenDep) -> OfficerIdentity:
    if not token:
        raise unauthorised("sign in first: send the header Authorization: Bearer <token from /api/v1/auth/token>")
    try:
        officer_id = officer_id_from_token(secret=context.secret_key, token=token)
    except InvalidToken as exc:
        raise unauthorised(str(exc)) from exc
    officer = officers.identity(db_session=db_session, officer_id=officer_id)
    if officer is None:
        raise unauthorised("this account no longer exists or is not active")
    return officer


CurrentOfficer = Annotated[OfficerIdentity, Depends(get_current_officer)]


def scope_of(officer: OfficerIdentity) -> Scope:
    """What the officer may see and do, for storage's ticket functions (which filter by it in SQL)."""
    return Scope(officer_id=officer.id, role=officer.role.value, provinces=officer.provinces)
