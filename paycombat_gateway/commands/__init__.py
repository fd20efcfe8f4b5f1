"""Sub-commands of ``paycombat-gateway``: each module here defines ``register(subparsers)``."""
