"""`python -m selaras_referral` runs the referral CLI."""

from selaras_referral.cli import main

raise SystemExit(main())
