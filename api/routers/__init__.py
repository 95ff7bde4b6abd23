"""REST routers, one module per resource (sessions, predictions, simulations, ...)."""
