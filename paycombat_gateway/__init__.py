"""PayCombat payment gateway for Saleor: a Saleor App (Transactions API) backed by PayCombat's hosted checkout."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paycombat-gateway")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
