"""JSON log lines on stdout for every service."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from selaras_shared.requestctx import current_request_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        payload: dict[str, object]
        try:
            parsed = json.loads(message)
            payload = parsed if isinstance(parsed, dict) else {"message": message}
        except ValueError:
            payload = {"message": message}
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            **payload,
        }
        request_id = current_request_id()
        if request_id and "request_id" not in payload:
            payload["request_id"] = request_id
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send `selaras.*` logs to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("selaras")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
