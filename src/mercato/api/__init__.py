"""The HTTP API: each audience's routes, and who may call them."""
