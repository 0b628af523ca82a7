"""Outgoing webhooks signed per Standard Webhooks (events-and-scale-out.md, Webhooks)."""
