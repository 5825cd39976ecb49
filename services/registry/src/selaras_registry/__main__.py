"""`python -m selaras_registry` runs the registry CLI."""

from selaras_registry.cli import main

raise SystemExit(main())
