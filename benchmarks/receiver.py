"""The webhook receiver of the slow-receiver case: a loopback HTTP server that answers every
delivery after ``delay_s`` (issue 21: a checkout's latency must not depend on the receivers,
because webhooks are sent by workers after the commit, never by the request)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from benchmarks.seed import ADMIN_EMAIL, PASSWORD


class Receiver:
    """Counts the deliveries it got; answers ``204`` after ``delay_s`` seconds."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.received = 0
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        with contextlib.suppress(
            OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError
        ):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                await reader.readexactly(length)
                self.received += 1
                await asyncio.sleep(self.delay_s)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        self.open.discard(writer)
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.open):
                writer.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


async def set_endpoint(base_url: str, url: str, hook_id: str | None, *, active: bool) -> str:
    """Create (``hook_id`` None) or switch an operator endpoint for every event at ``url``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post(
            "/auth/user/emailpass", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
        headers = {"authorization": f"Bearer {login.json()['token']}"}
        if hook_id is None:
            response = await client.post(
                "/admin/webhooks", json={"url": url, "events": ["*"]}, headers=headers
            )
        else:
            response = await client.post(
                f"/admin/webhooks/{hook_id}", json={"is_active": active}, headers=headers
            )
    if response.status_code != 200:
        raise RuntimeError(f"webhook endpoint: {response.status_code} {response.text[:300]}")
    return str(response.json()["webhook"]["id"])
