"""``python -m careloop`` is the ``careloop`` command."""

import sys

from careloop.cli import main

sys.exit(main())
