"""Request and response models of the referral API, one module per domain."""
