#!/usr/bin/env bash
# Walk one family through the referral flow with curl, against `make run` (deploy/local.py
# prints the exports this needs: TOKEN, MANAGER_TOKEN, PARTNER_TOKEN, HOUSEHOLD, MEMBER, VILLAGE).
#   bash deploy/walk.sh          (or paste the lines one by one)
set -euo pipefail
R=http://127.0.0.1:8003/api/v1
J='Content-Type: application/json'
FO="Authorization: Bearer $TOKEN"
MANAGER="Authorization: Bearer $MANAGER_TOKEN"
BAZNAS="Authorization: Bearer $PARTNER_TOKEN"
id() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or d["referrals"][0]["id"])'; }
show() { python3 -m json.tool; }

# 1. intake: the front office registers the family's case, with its consent
CASE=$(curl -sf -H "$FO" -H "$J" $R/cases -d '{
  "household_id": "'$HOUSEHOLD'", "member_id": "'$MEMBER'", "village_code": "'$VILLAGE'",
  "channel": "puskesos_walk_in", "type": "service_request", "sector": "social",
  "ppks": ["fakir_miskin"], "description": "Keluarga membutuhkan bantuan pangan",
  "consent": {"scope": ["registry_check", "referral"], "given_at": "2026-01-05",
              "given_by": "Kepala keluarga"}}' | id)
echo "case $CASE"

# 2. suggestions: which programmes the family qualifies for, and why (eligibility service)
curl -sf -H "$FO" $R/cases/$CASE/suggestions | show

# 3. BAZNAS subscribes its webhook (the demo receiver of `make run` prints what arrives)
curl -sf -H "$BAZNAS" -H "$J" $R/webhooks -d '{"url": "http://127.0.0.1:8009/hooks",
  "secret": "demo-webhook-secret-0123456789", "event_types": ["referral.*"]}' | show

# 4. a referral to BAZNAS zakat aid, from the suggestions
REF=$(curl -sf -H "$FO" -H "$J" $R/cases/$CASE/referrals \
  -d '{"programs": ["BAZNAS_7303_ZAKAT"]}' | id)
echo "referral $REF"

# 5. the manager approves (zakat aid requires it); the front office sends it
curl -sf -H "$MANAGER" -H "$J" $R/referrals/$REF/approval -d '{}' > /dev/null
curl -sf -H "$FO" -H "$J" $R/referrals/$REF/transitions -d '{"to": "requested"}' > /dev/null

# 6. BAZNAS accepts, starts and completes it with the outcome, through the same API
for step in '{"to": "accepted"}' '{"to": "in_progress"}' '{"to": "completed", "outcome":
    {"service_delivered": "Zakat konsumtif", "amount_rupiah": 1000000, "people": 4}}'; do
  curl -sf -H "$BAZNAS" -H "$J" $R/referrals/$REF/transitions -d "$step" > /dev/null
done

# 7. after follow-up with the family, the front office closes the referral and the case
curl -sf -H "$FO" -H "$J" $R/referrals/$REF/transitions -d '{"to": "closed"}' > /dev/null
curl -sf -X POST -H "$FO" $R/cases/$CASE/close | show

# the referral's audit trail
curl -sf -H "$FO" $R/referrals/$REF/transitions | show
