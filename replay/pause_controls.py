"""Pausing a replay from the terminal: Ctrl-Z (SIGTSTP) pauses its pacing clock, SIGCONT
(``fg``, ``kill -CONT``) resumes it, and 'p' or space toggles it when stdin is a terminal."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from replay.clock import PacingClock


def install_pause_controls(clock: PacingClock, say: Callable[[str], object]) -> None:
    """Pause ``clock`` on SIGTSTP (saying so through ``say``), resume it on SIGCONT, and
    toggle it on 'p' or space typed on a terminal."""

    def on_tstp(signum: int, frame: FrameType | None) -> None:
        clock.pause()
        say("[yellow]paused[/] (SIGCONT, `kill -CONT`, or 'p' to resume)")

    def on_cont(signum: int, frame: FrameType | None) -> None:
        clock.resume()

    signal.signal(signal.SIGTSTP, on_tstp)
    signal.signal(signal.SIGCONT, on_cont)
    if sys.stdin.isatty():
        threading.Thread(target=_keypresses, args=(clock,), daemon=True).start()


def _keypresses(clock: PacingClock) -> None:
    import termios
    import tty

    fd = sys.stdin.fileno()
    with contextlib.suppress(termios.error):
        old = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while True:
                ch = sys.stdin.read(1)
                if ch in ("p", "P", " "):
                    clock.toggle()
                if not ch:
                    return
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
