"""A local PayCombat for development and tests, like stripe-mock is for Stripe: the documented API
(same paths and envelopes, X-token and signature checked), a hosted checkout page, and signed webhooks
retried with backoff. Local use only: it moves no money and its ``/_sandbox/`` API needs no credentials.

Modules: ``app`` (the Starlette app), ``api`` (PayCombat's routes), ``hosted`` (the checkout page),
``control`` (``/_sandbox/``), ``auth``, ``validation``, ``models`` (record shapes), ``checkouts`` and
``ledger`` (behaviour), ``store``, ``dispatcher`` (webhooks), ``faults``, ``core`` (wiring) and
``server`` (``run_sandbox`` for tests).
"""
