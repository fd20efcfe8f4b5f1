"""``python -m paycombat_gateway`` is the same as the ``paycombat-gateway`` command."""

import sys

from paycombat_gateway.cli import main

sys.exit(main())
