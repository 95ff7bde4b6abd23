"""``pitwall users add``: create a user (the first admin) straight in PostgreSQL.

The API's ``POST /api/v1/auth/users`` needs an admin already; this is how the first one is
made, on the database's machine, with the same argon2 hashing as the API.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from core.settings import NotConfiguredError, get_settings

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Users of the API (sign-in accounts).", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: Annotated[str, typer.Argument(help="3-32 of letters, digits, _ . -")],
        role: Annotated[str, typer.Option(help="user or admin.")] = "admin",
        password_stdin: Annotated[
            bool, typer.Option(help="Read the password from standard input (scripts).")
        ] = False,
    ) -> None:
        """Create a user (an admin by default) with a password typed twice, or read from
        standard input with --password-stdin."""
        import psycopg
        from pydantic import ValidationError

        from api.auth.models import NewUserRequest
        from api.auth.security import hash_password
        from consumers.db_schema import AUTH_LOCK_ID, migrate_auth

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
        with psycopg.connect(url, autocommit=True) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUTH_LOCK_ID,))
                migrate_auth(conn)
            row = conn.execute(
                "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s) "
                "ON CONFLICT (username) DO NOTHING RETURNING user_id",
                (body.username, hash_password(body.password), body.role),
            ).fetchone()
            if row is None:
                console.print(f"[red]user {body.username!r} already exists[/]")
                raise typer.Exit(1)
            conn.execute(
                "INSERT INTO audit_log (event, outcome, actor, subject) VALUES "
                "('user.create', 'ok', 'cli:pitwall users add', %s)",
                (body.username,),
            )
        console.print(f"created {body.role} {body.username!r} (id {row[0]})")
