"""Domain rules of the referral service, one module per domain."""
