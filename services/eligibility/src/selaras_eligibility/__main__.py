"""`python -m selaras_eligibility` runs the eligibility CLI."""

from selaras_eligibility.cli import main

raise SystemExit(main())
