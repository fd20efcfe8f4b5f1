"""The configuration API behind the Dashboard page: strawberry GraphQL, authorised by the Dashboard token."""
