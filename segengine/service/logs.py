"""One JSON object per log line.

Request lines carry: request id, method, path, tenant, status, records, milliseconds, bytes in and
out, and the error category. They never carry a token, a secret, a header value other than the
request id, or any payload value.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
from typing import Any

import orjson

__all__ = ["ACCESS_LOGGER", "JsonFormatter", "configure_logging", "log_request"]

ACCESS_LOGGER = "segengine.service.access"
_access = logging.getLogger(ACCESS_LOGGER)


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"ts", "level", "logger", "message", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        """One log line: the record as a JSON object.

        Parameters
        ----------
        record : logging.LogRecord
            Its ``segengine_fields`` dict, when set, adds fields; an exception adds ``exception``.

        Returns
        -------
        str
            The JSON text, without a newline.
        """
        line: dict[str, Any] = {
            "ts": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "segengine_fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record (segengine's and uvicorn's) to stderr as JSON lines.

    Parameters
    ----------
    level : int
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def log_request(fields: dict[str, Any]) -> None:
    """Log one finished request.

    Parameters
    ----------
    fields : dict
        ``request_id``, ``method``, ``path``, ``tenant``, ``status``, ``records``, ``ms``, ...
    """
    _access.info("request", extra={"segengine_fields": fields})
