"""Mercato: a headless multi-vendor marketplace commerce engine."""
