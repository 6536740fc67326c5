"""The volunteers' app: an installable web app (manifest, service worker, icons) served by
the API itself, no build step.

Pages and files::

    /app/                       the app (sign-in, my alerts live, history, availability)
    /app/manifest.webmanifest   what makes it installable on a phone's home screen
    /app/sw.js                  the service worker: shows Web Push notifications, opens the
                                app on a tap, keeps the app shell for offline starts
    /app/icon-192.png, -512     the home-screen icons
    /app/act/<token>            an e-mailed accept/decline link (``app_links.py``)

Like the dashboard, the page holds no data: its script reads ``/api/v1/app/...`` and
``/api/v1/alerts/...`` with the session cookie, so roles, scope and consent stay with the
API routes. The page is sent with a Content-Security-Policy that allows only this origin's
scripts, worker and manifest.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.api.routes.dashboard import SECURITY_HEADERS, STATIC_DIR

router = APIRouter(tags=["volunteer app"], include_in_schema=False)

APP_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}
#: The app's own files under /app/ (name -> media type); nothing else is opened.
APP_FILES = {
    "manifest.webmanifest": "application/manifest+json",
    "sw.js": "text/javascript",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}


@router.get("/app")
async def app_redirect() -> RedirectResponse:
    """The app lives at /app/ (the service worker's scope)."""
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/")
async def app_page() -> Response:
    """The app's single page; its script decides between sign-in and the alerts."""
    return FileResponse(STATIC_DIR / "app.html", media_type="text/html", headers=APP_HEADERS)


@router.get("/app/{name}")
async def app_file(name: str) -> Response:
    """The manifest, the service worker and the icons."""
    media = APP_FILES.get(name)
    if media is None:
        raise HTTPException(404, "not found")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/app/"
    return FileResponse(STATIC_DIR / name, media_type=media, headers=headers)
