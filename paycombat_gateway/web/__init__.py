"""The HTTP face of the app: Starlette routes for Saleor, PayCombat and the Dashboard page."""
