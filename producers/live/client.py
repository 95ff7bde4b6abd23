"""The connection to F1's live timing: FastF1's SignalR client and F1 TV sign-in, reused.

:class:`FeedClient` subclasses ``fastf1.livetiming.client.SignalRClient`` (SignalR Core,
topic subscription, the AWSALBCORS pre-negotiation, token renewal on reconnect) and only
changes what happens to a message: it is handed to a callback, the live publisher, and
written to the recording file in FastF1's own format when ``--record`` is given (so that
``fastf1.livetiming.data.LiveTimingData`` can load it after the session, and ``pitwall live
--from-file`` can replay it). When the connection drops, :func:`run_live` reconnects with
exponential back-off (tenacity) until the session has ended or the user stops it.

Sign-in uses FastF1's F1 account flow (``fastf1.internals.f1account``): a stored token, or
``F1_USERNAME``/``F1_PASSWORD``, or an interactive prompt. Without any of them the client
refuses to start with :class:`MissingCredentialsError` rather than silently connecting
without authentication (pass ``no_auth=True`` for F1's partial public feed).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from core.compat import require_params

log = logging.getLogger(__name__)

#: Session statuses after which no more data will come.
FINAL_STATUSES = frozenset({"Finalised", "Ends"})


class MissingCredentialsError(RuntimeError):
    """No way to sign in to an F1 account with an F1 TV subscription."""


class FeedDropped(ConnectionError):
    """The connection closed or went silent before the session ended."""


def credentials_problem(credentials_set: bool) -> str | None:
    """Why sign-in cannot work here (None if a token, credentials (``credentials_set``: the
    F1_USERNAME and F1_PASSWORD that FastF1 reads) or a prompt are there)."""
    from fastf1.internals.f1account import get_auth_method, token_manager

    token = token_manager.get_stored()
    if token is not None and token.is_valid():
        return None
    if get_auth_method() == "browser":
        return None
    if credentials_set:
        return None
    if sys.stdin.isatty():
        return None  # FastF1 prompts for them
    return (
        "F1 live timing needs an F1 account with an F1 TV subscription, and none is "
        "available: set F1_USERNAME and F1_PASSWORD (or sign in once interactively; FastF1 "
        "stores the token), or use --no-auth for F1's partial public feed. "
        "To test without F1, play a recording: pitwall live --from-file FILE"
    )


#: FastF1's SignalRClient methods that FeedClient overrides or calls, with their parameters.
SIGNALR_METHODS = {
    "__init__": ("self", "filename", "filemode", "debug", "timeout", "logger", "no_auth"),
    "_on_message": ("self", "msg"),
    "_on_connect": ("self",),
    "_access_token_factory": ("self",),
    "_supervise": ("self",),
    "_exit": ("self",),
    "start": ("self",),
}


def _signalr_client_class() -> type:
    """FastF1's client, once its private methods are checked to be what FeedClient uses."""
    from fastf1.livetiming.client import SignalRClient

    for name, params in SIGNALR_METHODS.items():
        require_params(SignalRClient, name, params, "fastf1")
    return SignalRClient


class FeedClient(_signalr_client_class()):  # type: ignore[misc]
    """FastF1's SignalR client, handing each message to ``on_message`` as it arrives."""

    def __init__(
        self,
        on_message: Callable[[str, Any, str | None], None],
        *,
        record: Path | None = None,
        no_auth: bool = False,
        timeout: int = 60,
        stop: threading.Event | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(
            filename=str(record) if record else os.devnull,
            filemode="a",
            timeout=timeout,
            logger=logger or log,
            no_auth=no_auth,
        )
        self.on_message = on_message
        self.record = record
        self.stop = stop or threading.Event()
        self.was_connected = False

    def _on_message(self, msg: Any) -> None:
        if self.record is not None:
            super()._on_message(msg)  # FastF1's own recording format
        else:
            self._t_last_message = time.time()
        try:
            from signalrcore.messages.completion_message import CompletionMessage

            if isinstance(msg, CompletionMessage):
                result = msg.result or {}
                from producers.live.archive import SUBSCRIBE_ORDER, Z_TOPICS

                for topic in sorted(
                    result, key=lambda n: SUBSCRIBE_ORDER.get(n, 5 if n in Z_TOPICS else 4)
                ):
                    self.on_message(topic, result[topic], None)
            elif isinstance(msg, list) and msg:
                topic = msg[0]
                data = msg[1] if len(msg) > 1 else None
                utc = msg[2] if len(msg) > 2 else None
                self.on_message(topic, data, utc)
        except Exception:  # the feed must keep flowing; the publisher DLQs bad messages
            log.exception("live message handler failed")

    def _on_connect(self) -> None:
        super()._on_connect()
        self.was_connected = True

    def _access_token_factory(self) -> Callable[[], str] | None:
        if self._no_auth:
            return None
        from fastf1.exceptions import F1AuthError
        from fastf1.internals.f1account import get_token

        try:
            get_token()
        except F1AuthError as exc:
            raise MissingCredentialsError(f"F1 account sign-in failed: {exc}") from exc
        return lambda: get_token().value

    def _supervise(self) -> None:
        self._t_last_message = time.time()
        while True:
            if self.stop.is_set():
                self._exit()
                return
            silent = time.time() - self._t_last_message
            if self.timeout and silent > self.timeout:
                self._exit()
                raise FeedDropped(f"no data for {silent:.0f} s")
            if self.was_connected and not self._is_connected:
                self._exit()
                raise FeedDropped("connection closed")
            time.sleep(0.5)


def run_live(
    on_message: Callable[[str, Any, str | None], None],
    *,
    finished: Callable[[], bool],
    record: Path | None = None,
    no_auth: bool = False,
    credentials_set: bool = False,
    timeout: int = 60,
    attempts: int = 20,
    min_backoff: float = 1.0,
    max_backoff: float = 60.0,
    stop: threading.Event | None = None,
    client_factory: Callable[..., FeedClient] | None = None,
) -> None:
    """Connect and stream until the session ends; reconnect with back-off when it drops.

    ``client_factory`` builds the client of each attempt (FeedClient; tests pass one that
    replays a recording in place of F1's servers); ``credentials_set``: F1_USERNAME and
    F1_PASSWORD are there for FastF1 to sign in with."""
    client_factory = client_factory or FeedClient
    if not no_auth and (problem := credentials_problem(credentials_set)):
        raise MissingCredentialsError(problem)
    stop = stop or threading.Event()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning("live feed lost (%s); reconnecting in %.0f s", exc, wait)

    @retry(
        retry=retry_if_exception_type((FeedDropped, ConnectionError, OSError, TimeoutError)),
        wait=wait_exponential(multiplier=min_backoff, min=min_backoff, max=max_backoff),
        stop=stop_after_attempt(attempts),
        before_sleep=before_sleep,
        reraise=True,
    )
    def connect_once() -> None:
        client = client_factory(
            on_message, record=record, no_auth=no_auth, timeout=timeout, stop=stop
        )
        try:
            client.start()
        except FeedDropped:
            if finished() or stop.is_set():
                return
            raise

    connect_once()
