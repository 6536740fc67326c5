"""Notifications that reach a phone: Web Push end to end, and SMS through an HTTP gateway.

Web Push: the alert service pages volunteers whose apps subscribed; a real HTTP server on
loopback stands in for the push service, and the test decrypts what it received with the
subscription's private key exactly as the browser would (tests/helpers/push_service.py,
written from RFC 8291 apart from careloop's code), and verifies the VAPID signature. SMS: a
real HTTP server stands in for the gateway.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alerts.channels.webpush import Vapid, encrypt
from careloop.i18n import translate
from people import Directory, PushSubscription
from tests.alerts.conftest import make_roster, need
from tests.helpers.push_service import BrowserKeys, PushService, check_vapid


def test_encryption_matches_the_rfc_8291_example() -> None:
    """RFC 8291 appendix A: the same keys and salt give the same message, byte for byte."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from alerts.channels.webpush import b64url, unb64url

    sender = ec.derive_private_key(
        int.from_bytes(unb64url("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"), "big"),
        ec.SECP256R1(),
    )
    body = encrypt(
        b"When I grow up, I want to be a watermelon",
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        "BTBZMqHH6r4Tts7J_aSIgg",
        salt=unb64url("DGv6ra1nlYgDCS1FRnbzlw"),
        ephemeral=sender,
    )
    assert b64url(body) == (
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLoc"
        "InmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLV"
        "WGNWQexSgSxsj_Qulcy4a-fN"
    )


def _pushable(svc: Any, *volunteers: str) -> None:
    """Wait until the service has followed the people database to these subscriptions."""
    deadline = time.monotonic() + 10
    while not set(volunteers) <= svc.service.engine.roster.pushable:
        assert time.monotonic() < deadline, "the service did not see the subscriptions"
        time.sleep(0.05)


def _subscribe(directory: Directory, volunteer: str, push: PushService) -> BrowserKeys:
    keys = BrowserKeys()
    sub = keys.subscription(push.endpoint(volunteer))
    directory.add_push_subscription(
        PushSubscription(sub["endpoint"], volunteer, sub["keys"]["p256dh"], sub["keys"]["auth"])
    )
    return keys


def test_web_push_reaches_the_app_encrypted_and_signed(start_service, apps, site) -> None:
    roster = make_roster(site, volunteers=3)  # v01, v02 read zh (Traditional), v03 English
    svc = start_service(roster=roster, vapid_subject="mailto:ops@example.org")
    with PushService() as push, svc.people() as people:
        keys = {v: _subscribe(people, v, push) for v in ("v01", "v02", "v03")}
        _pushable(svc, "v01", "v02", "v03")  # followed from the people database
        apps.publish_need(need(site, "r1", kind="fall", tier="emergency"))
        paged = set(apps.wait(lambda x: x.type == "page", n=3))
        alert = next(iter(paged)).alert
        vapid = Vapid.load(svc.settings.paths.vapid_key, "mailto:ops@example.org")
        for volunteer, locale in (("v01", "zh-Hant"), ("v03", "en")):
            got = push.wait(f"/push/{volunteer}")[0]
            assert got.headers["Content-Encoding"] == "aes128gcm"
            assert got.headers["Urgency"] == "high" and int(got.headers["TTL"]) > 0
            claims = check_vapid(got.headers["Authorization"], push.origin)
            assert claims["k"] == vapid.public_key and claims["sub"] == "mailto:ops@example.org"
            assert b"fall" not in got.body  # encrypted: the push service reads nothing
            payload = json.loads(keys[volunteer].decrypt(got.body))
            tier = translate(locale, "tier.emergency")
            assert payload["tier"] == "emergency" and payload["alert"] == alert
            assert payload["title"] == translate(
                locale, "push.title", tier=tier, type=translate(locale, "notification.page")
            )
            what = translate(locale, "need.fall")
            assert payload["body"] == translate(locale, "push.body_need", what=what, site=site)
            assert payload["url"].endswith(f"/app/#alert={alert}")


def test_push_withholds_the_need_without_consent_and_forgets_gone_apps(
    start_service, apps, site
) -> None:
    roster = make_roster(site, volunteers=1)
    roster["consents"] = {"r1": {}}  # r1 shares nothing with volunteers
    svc = start_service(roster=roster)
    with PushService() as push, svc.people() as people:
        keys = _subscribe(people, "v01", push)
        gone = BrowserKeys().subscription(push.endpoint("old-phone"))
        people.add_push_subscription(
            PushSubscription(gone["endpoint"], "v01", gone["keys"]["p256dh"], gone["keys"]["auth"])
        )
        push.status["/push/old-phone"] = 410  # the user uninstalled the app there
        _pushable(svc, "v01")
        apps.publish_need(need(site, "r1", kind="fall", tier="important"))
        apps.wait(lambda x: x.type == "page")
        payload = json.loads(keys.decrypt(push.wait("/push/v01")[0].body))
        push.wait("/push/old-phone")
        deadline = time.monotonic() + 10
        while len(people.push_subscriptions("v01")) != 1:
            assert time.monotonic() < deadline, "the gone subscription was kept"
            time.sleep(0.05)
    assert payload["body"] == translate("zh-Hant", "push.body_private", site=site)
    assert "r1" not in json.dumps(payload) and "fall" not in json.dumps(payload)
    assert payload["tier"] == "important"


class Gateway:
    """A real HTTP server standing in for an SMS gateway."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], dict[str, Any]]] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), json.loads(body)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_sms_through_the_http_gateway(start_service, apps, site) -> None:
    gateway = Gateway()
    try:
        roster = make_roster(site, volunteers=1)
        roster["volunteers"][0].update(
            channels=["mqtt", "sms"], phone="+886912345678", languages=["en"]
        )
        start_service(
            roster=roster, sms_url=gateway.url, sms_auth_header="Authorization: Bearer gw-key",
            push=False,
        )  # fmt: skip
        apps.publish_need(need(site, "r1", kind="fall", tier="emergency"))
        page = apps.wait(lambda x: x.type == "page")[0]
        deadline = time.monotonic() + 10
        while not gateway.got:
            assert time.monotonic() < deadline, "no SMS reached the gateway"
            time.sleep(0.05)
    finally:
        gateway.close()
    headers, body = gateway.got[0]
    assert body["to"] == "+886912345678"
    assert headers["Authorization"] == "Bearer gw-key"
    assert headers["Idempotency-Key"] == f"{page.id}-s"
    assert (
        translate("en", "need.fall") in body["text"] and f"/app/#alert={page.alert}" in body["text"]
    )
