"""``python -m singpass_gateway keys …`` and ``… openapi``: operator commands, run from a workstation, never by a
handler."""

import sys

from .keytool import main

if __name__ == "__main__":
    sys.exit(main())
