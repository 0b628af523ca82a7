"""Durable workflows: multi-step processes whose progress survives the process running them."""
