"""``Idempotency-Key`` (api-conventions.md): claimed, recorded and replayed responses."""
