"""``/app``: the admin dashboard's build (``make admin``, admin-dashboard.md §1.2), served from
``MERCATO_ADMIN_DIR`` as a single-page app.

An ASGI middleware outside the others, so ``GET`` and ``HEAD`` on ``/app``, ``/app/`` and
``/app/<path>`` bypass authentication, the body limit and the OpenAPI schema; any other method
goes on to the application, whose unknown-route 404 answers it.

- A path naming a file inside the directory (``scope["path"]`` is already percent-decoded) is
  served with its MIME type; a ``..`` segment, a NUL or a symlink leading out of it is a 404.
- Any other path gets ``index.html`` (the dashboard's router resolves ``/app/orders/order_…``),
  except under ``/app/assets/``: a stale page's missing script is a 404, not HTML.
- ``/app/assets/*`` (content-hashed names) may be cached for a year; ``index.html`` and every
  other file are revalidated (``no-cache``) with an ``ETag`` (the content's hash, so every
  process serving the same build agrees) and answered 304 on a matching ``If-None-Match``.
- JavaScript, CSS, HTML, SVG and JSON are sent gzip-compressed when the client accepts it,
  compressed once per file version and kept in memory (the build is ~11 MB).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/app"
NOT_BUILT = "The admin dashboard is not built; run make admin"
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".html", ".svg", ".json"})
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def startup_line(directory: Path | None, host: str, port: int) -> str:
    """What ``mercato serve`` says about the dashboard when it starts."""
    if directory is None:
        return "Admin dashboard: disabled (MERCATO_ADMIN_DIR is empty)"
    if (directory / "index.html").is_file():
        return f"Admin dashboard: http://{host}:{port}{PREFIX}"
    return NOT_BUILT


class AdminDashboard:
    """ASGI middleware serving the build in ``directory`` at ``/app``."""

    def __init__(self, app: ASGIApp, *, directory: Path) -> None:
        self.app = app
        self.directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not _is_dashboard_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        response = await anyio.to_thread.run_sync(
            self._respond, scope["path"][len(PREFIX) :], Headers(scope=scope)
        )
        await response(scope, receive, send if scope["method"] == "GET" else _headers_only(send))

    def _respond(self, path: str, request: Headers) -> Response:
        root = self.directory.resolve()
        index = root / "index.html"
        if not index.is_file():
            return _not_found(NOT_BUILT)
        found = _locate(root, path)
        if found is None:
            return _not_found(f"Route {PREFIX}{path} was not found")
        is_asset = found.is_relative_to(root / "assets")
        return _file_response(found, request, IMMUTABLE if is_asset else "no-cache")


def _is_dashboard_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _locate(root: Path, path: str) -> Path | None:
    """The file ``path`` (below ``/app``) names in ``root``, ``index.html`` for a page of the
    dashboard, or None (404)."""
    if "\x00" in path:
        return None
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    if not parts:
        return root / "index.html"
    candidate = root.joinpath(*parts).resolve()  # follows symlinks, existing or not
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_file():
        return candidate
    if parts[0] == "assets":
        return None
    return root / "index.html"


def _file_response(path: Path, request: Headers, cache_control: str) -> Response:
    stat = path.stat()
    version = (str(path), stat.st_mtime_ns, stat.st_size)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    compressible = path.suffix.lower() in COMPRESSIBLE
    headers = {"Cache-Control": cache_control, **SECURITY_HEADERS}
    if compressible:
        headers["Vary"] = "Accept-Encoding"
    digest = _digest(*version)
    gzipped = compressible and _accepts_gzip(request.get("accept-encoding", ""))
    etag = f'"{digest}-gzip"' if gzipped else f'"{digest}"'
    headers["ETag"] = etag
    if _matches(request.get("if-none-match"), digest):
        return Response(status_code=304, headers=headers)
    if not gzipped:
        return FileResponse(path, headers=headers, media_type=media_type, stat_result=stat)
    body = _gzipped(*version)
    headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type=media_type)


@lru_cache(maxsize=4096)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """A strong validator of one version of a file: the hash of its content."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:32]


@lru_cache(maxsize=1024)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    with open(path, "rb") as file:
        return gzip.compress(file.read(), compresslevel=6, mtime=0)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a non-zero weight)."""
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        weight = params.strip().lower()
        if weight.startswith("q="):
            try:
                return float(weight[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _matches(if_none_match: str | None, digest: str) -> bool:
    """``If-None-Match`` names this content, in either encoding (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or f'"{digest}"' in tags or f'"{digest}-gzip"' in tags


def _headers_only(send: Send) -> Send:
    """``HEAD``: the ``GET``'s status and headers, no body."""

    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers


def _not_found(message: str) -> Response:
    return JSONResponse(
        {"type": "not_found", "message": message}, status_code=404, headers=SECURITY_HEADERS
    )
