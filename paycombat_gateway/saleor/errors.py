"""Protocol errors answered to Saleor as ``{"success": false, "error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

__all__ = ["SaleorProtocolError"]


class SaleorProtocolError(Exception):
    """A request from Saleor (or for Saleor) that must be refused with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"success": False, "error": {"code": self.code, "message": self.message}}
