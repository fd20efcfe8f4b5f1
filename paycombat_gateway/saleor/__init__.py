"""A small Saleor App SDK: manifest, register, JWS/JWKS, webhook definitions, GraphQL client, Dashboard token.

Framework-free and storage-free: callers pass values and callbacks in, so the same code serves the
Starlette app and the tests.
"""
