"""JSON responses in the shapes Saleor and PayCombat expect, built in one place."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["error_response", "json_response"]


def json_response(payload: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status_code)


def error_response(status_code: int, code: str, message: str) -> JSONResponse:
    """``{"success": false, "error": {"code", "message"}}``: the shape Saleor shows to a merchant."""
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": message}}, status_code=status_code
    )
