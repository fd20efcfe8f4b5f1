"""A typed client of PayCombat's API (signing, errors, retries, models), independent of Saleor."""
