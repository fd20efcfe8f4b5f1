"""A local PayCombat for development and tests: the documented API, a hosted checkout page and signed
webhooks, like stripe-mock is for Stripe. Local use only: it moves no money and has no real security."""
