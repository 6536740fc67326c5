"""``python -m app`` is the ``careloop`` command (the console script calls the same main)."""

import sys

from app.cli import main

sys.exit(main())
