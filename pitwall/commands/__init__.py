"""pitwall's commands, one module per area: each defines a sub-app (``app``) of module-level
command functions that parse options, call library code and print the outcome.
``pitwall.cli`` assembles them into the one ``pitwall`` app."""
