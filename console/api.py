"""The officers' JSON API, `/api/v1/...` (contracts in DESIGN.md "HTTP" and "Tickets over the API").

Routes are thin: they check the request's shape, call storage's service functions (which scope every query
by the officer's role and provinces in SQL) and shape the answer. Errors are JSON `{"message": ...}`
(bot/app.py's handlers): 401 without a valid token, 404 for a ticket outside the caller's provinces (it does
not exist for them), 403 for an action their role or office may not take, 409 for a forbidden transition.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from console.deps import ConsoleContext, Context, CurrentOfficer
from console.security import create_access_token
from storage import officers
from storage.db import Database
from storage.officers import LOCKOUT, MAX_FAILED_LOGINS, SignIn

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


def mount(app: FastAPI, *, db: Database, secret_key: str) -> None:
    """Add the API to the service's app (bot/app.py calls this; console never imports bot)."""
    app.state.console = ConsoleContext(db=db, secret_key=secret_key)
    app.include_router(router)
