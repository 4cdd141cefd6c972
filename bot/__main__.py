"""python -m bot: the same command line as `chronicle`."""

import sys

from bot.cli import main

# Guarded: large imports parse in spawned worker processes, which import this module again.
if __name__ == "__main__":
    sys.exit(main())
