"""The payment domain: Saleor events to PayCombat calls and back, and PayCombat webhooks to Saleor events."""
