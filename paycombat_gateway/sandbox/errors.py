"""The one error type of the sandbox: an HTTP status and the message PayCombat's envelope carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["SandboxError"]


class SandboxError(Exception):
    """A refusal the sandbox answers with ``{"status": false, "message": ...}`` and ``status``.

    ``errors`` maps field names to messages for validation failures (contract inference
    ``validation_error_shape``). Messages never contain secrets: they name fields, not values.
    """

    def __init__(self, status: int, message: str, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = {field: list(messages) for field, messages in (errors or {}).items()}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"status": False, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body
