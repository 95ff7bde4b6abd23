"""Embedded servers started from pip-installed packages when no URL is configured.

The same code path serves development (``pitwall up``), the tests, CI and the demo.
"""

from pitwall.embedded.base import EmbeddedServer, ServerStartError
from pitwall.embedded.stack import Stack

__all__ = ["EmbeddedServer", "ServerStartError", "Stack"]
