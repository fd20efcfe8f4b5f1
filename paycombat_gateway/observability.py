"""Structured JSON logs with a request id, and redaction of every secret the process has seen.

Secrets reach the process in a handful of places (stored credentials when decrypted, Saleor tokens, the
signing key). Each place registers the value with ``register_secret``; a logging filter then replaces
those values, plus anything shaped like a bearer token or a PayCombat sandbox credential, before a
record is formatted. Redaction happens in one filter so no call site has to remember it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
from typing import Any

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "current_request_id",
    "redact",
    "register_secret",
    "request_id_var",
]

REDACTED = "[redacted]"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_pattern: re.Pattern[str] | None = None
# Shapes that are secret wherever they appear, registered or not.
_SHAPES = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"  # Authorization: Bearer <token>
    r"|\bsnd_[A-Za-z0-9+/=_-]{8,}"  # PayCombat sandbox X-tokens and signature keys
    r"|(\"(?:auth_token|token|x-token|signature|signature_key|x_token|checkout_token)\"\s*:\s*\")[^\"]+"
)
_MIN_SECRET_LENGTH = 6


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it is replaced in every later log line."""
    global _secret_pattern
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leaks
        _secret_pattern = re.compile("|".join(re.escape(item) for item in ordered))


def _shape_replacement(match: re.Match[str]) -> str:
    prefix = match.group(1) or match.group(2) or ""
    return prefix + REDACTED


def redact(text: str) -> str:
    """``text`` with registered secrets and secret-shaped values replaced by ``[redacted]``."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _SHAPES.sub(_shape_replacement, text)


class RedactingFilter(logging.Filter):
    """Renders the message once, redacted, so formatters and handlers only ever see the clean text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key.startswith("ctx_") and isinstance(value, str):
                record.__dict__[key] = redact(value)
        return True


def current_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and ``ctx_*`` extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key.startswith("ctx_"):
                entry[key[4:]] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    """Route all logging through one redacting handler on stderr (JSON unless ``fmt == "text"``)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every connection it configures ("Context impl SQLiteImpl", plugins): on each start,
    # command and /readyz. Its warnings still show; LOG_LEVEL=DEBUG brings the narration back.
    logging.getLogger("alembic").setLevel(
        level if logging.getLevelName(level) == logging.DEBUG else "WARNING"
    )
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
