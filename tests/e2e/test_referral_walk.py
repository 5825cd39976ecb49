"""One family walked through the whole system, three real processes on loopback ports:
registered in the registry, explained by the eligibility service (which reads the registry
over HTTP), taken in as a case, referred from the suggestions to BAZNAS and to Kemensos,
approved, sent; BAZNAS, subscribed by webhook, accepts, starts and completes with an outcome,
and the case owner closes; Kemensos rejects, and the referral is re-routed to a third
provider, who serves the family too, before the case is closed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.conftest import Delivery, Receiver, System, wait_until
from tests.registry import factories

API = "/api/v1"
#: Desa Bonto Jai, Kab. Bantaeng: BAZNAS Bantaeng's area.
VILLAGE = "7303012004"
ZAKAT = "BAZNAS_7303_ZAKAT"  # BAZNAS Bantaeng, needs a manager's approval
BPNT = "BPNT"  # Kemensos staple food aid, no approval
PIP = "PIP"  # Kemendikdasmen school aid: the third provider
WEBHOOK_SECRET = "baznas-webhook-secret-0123456789"
OUTCOME = {"service_delivered": "Zakat konsumtif", "amount_rupiah": 1_000_000, "people": 4}


def family() -> dict[str, Any]:
    """A poor family in Bonto Jai with a child at school, in the national registry,
    receiving nothing yet."""
    return factories.household(VILLAGE, desil=2, programs_received=[], ppks=["fakir_miskin"])


def case_body(household: dict[str, Any]) -> dict[str, Any]:
    return {
        "household_id": household["id"],
        "member_id": household["members"][0]["id"],
        "village_code": VILLAGE,
        "channel": "puskesos_walk_in",
        "type": "service_request",
        "sector": "social",
        "ppks": ["fakir_miskin"],
        "description": "Keluarga membutuhkan bantuan pangan dan biaya sekolah anak",
        "priority": "normal",
        "consent": {
            "scope": ["registry_check", "referral"],
            "given_at": "2026-01-05",
            "given_by": "Kepala keluarga",
        },
    }


def signed_by(secret: str, delivery: Delivery) -> bool:
    """What the partner checks: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    parts = dict(p.split("=", 1) for p in delivery.headers["selaras-signature"].split(","))
    signed = parts["t"].encode() + b"." + delivery.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def event(kind: str, referral_id: str) -> Callable[[Delivery], bool]:
    """Matches the delivery of `kind` about this referral."""

    def matches(delivery: Delivery) -> bool:
        body = delivery.json()
        return bool(body["type"] == kind and body["subject"]["id"] == referral_id)

    return matches


class Walk:
    """The calls of the walk, each asserting its status."""

    def __init__(self, system: System, http: httpx.Client) -> None:
        self.system = system
        self.http = http

    def post(
        self, service: str, path: str, headers: dict[str, str], body: Any, status: int = 200
    ) -> Any:
        response = self.http.post(self.system.url(service, API + path), json=body, headers=headers)
        assert response.status_code == status, f"POST {path}: {response.text}"
        return response.json() if response.content else None

    def get(self, service: str, path: str, headers: dict[str, str]) -> Any:
        response = self.http.get(self.system.url(service, API + path), headers=headers)
        assert response.status_code == 200, f"GET {path}: {response.text}"
        return response.json()

    def move(self, referral_id: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        moved: dict[str, Any] = self.post(
            "referral", f"/referrals/{referral_id}/transitions", headers, body
        )
        assert moved["status"] == body["to"], moved
        return moved


def test_a_family_from_intake_to_closing(system: System, receiver: Receiver) -> None:
    front_office = system.token("front_office", VILLAGE, sub="fo-bonto-jai")
    manager = system.token("manager", "7303", sub="manager-bantaeng")
    baznas = system.token("partner", "7303", sub="baznas-officer", org="baznas-7303")
    kemensos = system.token("partner", "", sub="kemensos-officer", org="kemensos")
    kemendikdasmen = system.token("partner", "", sub="pip-officer", org="kemendikdasmen")

    with httpx.Client(timeout=15) as http:
        walk = Walk(system, http)
        # The family is registered in the registry; eligibility reads it over HTTP.
        household = walk.post("registry", "/households", front_office, family(), 201)
        explained = walk.post(
            "eligibility", "/eligibility/explain", front_office, {"household_id": household["id"]}
        )
        assert {p["program"]: p["status"] for p in explained["programs"]}[ZAKAT] == "eligible"

        # BAZNAS subscribes its receiver to referral events.
        subscription = walk.post(
            "referral",
            "/webhooks",
            baznas,
            {"url": receiver.url, "secret": WEBHOOK_SECRET, "event_types": ["referral.*"]},
            201,
        )

        # Intake, checked against the registry.
        case = walk.post("referral", "/cases", front_office, case_body(household), 201)
        assert case["registry_check"] == "checked"
        assert case["status"] == "open"

        # Suggestions from the eligibility service, and referrals made from them.
        suggestions = walk.get("referral", f"/cases/{case['id']}/suggestions", front_office)
        assert suggestions["checked"] is True
        by_code = {p["program"]: p for p in suggestions["programs"]}
        assert by_code[ZAKAT]["status"] == "eligible"
        assert by_code[ZAKAT]["owner"] == "baznas-7303"
        assert by_code[ZAKAT]["requires_manager_approval"] is True
        assert by_code[BPNT]["status"] == "eligible"
        assert by_code[PIP]["status"] == "eligible"
        made = walk.post(
            "referral",
            f"/cases/{case['id']}/referrals",
            front_office,
            {"programs": [ZAKAT, BPNT]},
            201,
        )
        assert made["eligibility_checked"] is True
        referrals = {r["program"]: r for r in made["referrals"]}
        zakat, bpnt = referrals[ZAKAT], referrals[BPNT]
        assert (zakat["organization"], zakat["requires_approval"]) == ("baznas-7303", True)
        assert (bpnt["organization"], bpnt["requires_approval"]) == ("kemensos", False)
        assert zakat["status"] == bpnt["status"] == "draft"

        # Zakat aid cannot be sent before the manager approves it.
        walk.post(
            "referral",
            f"/referrals/{zakat['id']}/transitions",
            front_office,
            {"to": "requested"},
            409,
        )
        approved = walk.post("referral", f"/referrals/{zakat['id']}/approval", manager, {})
        assert approved["approved_by"] == "manager-bantaeng"
        walk.move(zakat["id"], front_office, to="requested")
        walk.move(bpnt["id"], front_office, to="requested")

        # BAZNAS hears of it by a signed webhook, and answers through the REST API.
        requested = receiver.wait_for(event("referral.requested", zakat["id"]))
        assert signed_by(WEBHOOK_SECRET, requested)
        assert requested.headers["selaras-event-id"] == requested.json()["id"]
        assert requested.json()["organization"] == "baznas-7303"
        assert requested.json()["data"]["to"] == "requested"
        walk.move(zakat["id"], baznas, to="accepted")
        walk.move(zakat["id"], baznas, to="in_progress")
        completed = walk.move(zakat["id"], baznas, to="completed", outcome=OUTCOME)
        assert completed["outcome"]["amount_rupiah"] == 1_000_000
        walk.move(zakat["id"], front_office, to="closed")

        # Kemensos rejects; the front office re-routes to a third provider.
        walk.move(bpnt["id"], kemensos, to="rejected", reason="Kuota BPNT desa sudah penuh")
        child = walk.post(
            "referral",
            f"/referrals/{bpnt['id']}/reroute",
            front_office,
            {"program": PIP},
            201,
        )
        assert child["parent_referral_id"] == bpnt["id"]
        assert child["organization"] == "kemendikdasmen"
        walk.move(child["id"], front_office, to="requested")
        walk.move(child["id"], kemendikdasmen, to="accepted")
        walk.move(child["id"], kemendikdasmen, to="in_progress")
        walk.move(
            child["id"],
            kemendikdasmen,
            to="completed",
            outcome={
                "service_delivered": "Kartu Indonesia Pintar",
                "amount_rupiah": 450_000,
                "enrolment_number": "PIP-2026-001",
            },
        )
        walk.move(child["id"], front_office, to="closed")

        # Every referral is final: the case owner closes the case.
        closed = walk.post("referral", f"/cases/{case['id']}/close", front_office, None)
        assert closed["status"] == "closed"

        # The audit trail of the zakat referral, every step with who took it.
        trail = walk.get("referral", f"/referrals/{zakat['id']}/transitions", front_office)
        steps = [(e["to_status"], e["role"], e["organization"]) for e in trail]
        assert [s for s in steps if s[0] != "draft"] == [
            ("requested", "front_office", None),
            ("accepted", "partner", "baznas-7303"),
            ("in_progress", "partner", "baznas-7303"),
            ("completed", "partner", "baznas-7303"),
            ("closed", "front_office", None),
        ]
        assert trail[-1]["actor"] == "fo-bonto-jai"
        rejected = walk.get("referral", f"/referrals/{bpnt['id']}/transitions", front_office)[-1]
        assert (rejected["to_status"], rejected["organization"]) == ("rejected", "kemensos")
        assert rejected["reason"] == "Kuota BPNT desa sudah penuh"

        # BAZNAS got each of its referral's transitions, signed, and nothing of others'.
        # (Deliveries are concurrent: they may arrive in any order.)
        for status in ("requested", "accepted", "in_progress", "completed", "closed"):
            receiver.wait_for(event(f"referral.{status}", zakat["id"]))
        seen = {d.json()["id"]: d for d in receiver.deliveries}
        assert all(signed_by(WEBHOOK_SECRET, d) for d in seen.values())
        assert {d.json()["subject"]["id"] for d in seen.values()} == {zakat["id"]}

        # The dispatcher records a delivery once the receiver has answered: wait for it.
        def recorded() -> list[tuple[str, str]]:
            log = walk.get("referral", f"/webhooks/{subscription['id']}/deliveries", baznas)
            done = {d["event_id"] for d in log["items"] if d["status"] == "delivered"}
            return (
                [] if set(seen) <= done else [(d["event_type"], d["status"]) for d in log["items"]]
            )

        wait_until(lambda: not recorded(), "every received event logged as delivered", recorded)
