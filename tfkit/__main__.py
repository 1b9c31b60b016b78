"""``python -m tfkit`` runs the command line."""

import sys

from tfkit.cli.main import main

sys.exit(main())
