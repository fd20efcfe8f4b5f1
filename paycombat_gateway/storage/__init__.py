"""Persistence: SQLAlchemy models, Alembic migrations, repositories, inbox/outbox, secrets at rest.

This layer knows SQLAlchemy and nothing of Saleor's or PayCombat's wire formats: it stores the raw
bytes and values it is handed.
"""
