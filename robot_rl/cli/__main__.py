"""``python -m robot_rl.cli`` runs the ``robot-rl`` command line."""

import sys

from robot_rl.cli import main

sys.exit(main())
