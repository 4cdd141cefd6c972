"""python -m bot: the same command line as `chronicle`."""

import sys

from bot.cli import main

sys.exit(main())
