"""One family walked through the whole system, three real processes on loopback ports:
registered in the registry, explained by the eligibility service (which reads the registry
over HTTP), referred, approved, sent, accepted by a webhook-subscribed partner, completed
and closed; a rejected referral re-routed to another provider."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import Receiver, System
from tests.registry import factories

API = "/api/v1"
#: Desa Bonto Jai, Kab. Bantaeng: BAZNAS Bantaeng's area.
VILLAGE = "7303012004"


def family() -> dict[str, Any]:
    """A poor family in Bonto Jai, in the national registry, receiving nothing yet."""
    return factories.household(VILLAGE, desil=2, programs_received=[], ppks=["fakir_miskin"])


def test_a_family_from_intake_to_closing(system: System, receiver: Receiver) -> None:
    front_office = system.token("front_office", "7303012004", sub="fo-bonto-jai")
    with httpx.Client(timeout=10) as http:
        # 1. the front office registers the family in the registry
        created = http.post(
            system.url("registry", f"{API}/households"), json=family(), headers=front_office
        )
        assert created.status_code == 201, created.text
        household = created.json()
        # 2. the eligibility service explains it, reading the registry over HTTP
        explained = http.post(
            system.url("eligibility", f"{API}/eligibility/explain"),
            json={"household_id": household["id"]},
            headers=front_office,
        )
        assert explained.status_code == 200, explained.text
        programs = {p["program"]: p for p in explained.json()["programs"]}
        zakat = programs["BAZNAS_7303_ZAKAT"]
        assert zakat["status"] == "eligible", zakat
        assert zakat["owner"] == "baznas-7303" and zakat["requires_manager_approval"] is True
        assert programs["BPNT"]["status"] == "eligible"
        assert programs["BPNT"]["requires_manager_approval"] is False
        # 3. the referral service is up and its upstreams are reachable
        assert http.get(system.url("referral", "/readyz")).status_code == 200
