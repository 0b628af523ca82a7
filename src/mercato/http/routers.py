"""Every audience's router, assembled in one place (auth is declared on each router)."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from mercato.http import health

    return [health.router]
