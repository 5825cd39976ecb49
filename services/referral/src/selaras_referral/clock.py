"""The service's clock: a callable on `app.state.clock`, replaced in tests to move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from selaras_shared.db import utcnow

#: Returns the current time (UTC, timezone-aware).
Clock = Callable[[], datetime]

system_clock: Clock = utcnow
