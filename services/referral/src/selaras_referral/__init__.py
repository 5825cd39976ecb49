"""Selaras referral service: intake cases, closed-loop referrals, SLAs, partner webhooks."""
