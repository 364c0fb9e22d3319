"""Run the demo: ``python -m demo [--check] [--host HOST]``."""

import sys

from demo.run import main

sys.exit(main())
