"""``pitwall users add``: create a user (the first admin) straight in PostgreSQL.

The API's ``POST /api/v1/auth/users`` needs an admin already; this is how the first one is
made, on the database's machine, with the same argon2 hashing as the API.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.settings import NotConfiguredError, get_settings

if TYPE_CHECKING:
    from api.auth.models import NewUserRequest

console = Console(stderr=True)
app = typer.Typer(help="Users of the API (sign-in accounts).", no_args_is_help=True)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="3-32 of letters, digits, _ . -")],
    role: Annotated[str, typer.Option(help="user or admin.")] = "admin",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (scripts).")
    ] = False,
) -> None:
    """Create a user (an admin by default) with a password typed twice, or read from
    standard input with --password-stdin."""
    from pydantic import ValidationError

    from api.auth.models import NewUserRequest

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        body = NewUserRequest(username=username, password=password, role=role)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            console.print(f"[red]{'.'.join(map(str, err['loc']))}: {err['msg']}[/]")
        raise typer.Exit(2) from None
    try:
        url = get_settings().require_database
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    row = asyncio.run(_create_user(url, body))
    if row is None:
        console.print(f"[red]user {body.username!r} already exists[/]")
        raise typer.Exit(1)
    console.print(f"created {body.role} {body.username!r} (id {row['user_id']})")


async def _create_user(url: str, body: NewUserRequest) -> dict[str, Any] | None:
    """Create the user (the auth tables first, if missing) and audit it; None when the name
    is taken. The API's own store does the writing, with the API's password hashing."""
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    from api.auth import store
    from api.auth.security import hash_password

    async with await AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        await store.ensure_tables(conn)
        row = await store.create_user(conn, body.username, hash_password(body.password), body.role)
        if row is not None:
            actor = "cli:pitwall users add"
            await store.audit(conn, "user.create", "ok", actor=actor, subject=body.username)
        return row
