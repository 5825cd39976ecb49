"""Request and response models of the referral service, one module per domain."""
