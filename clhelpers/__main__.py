"""``python -m clhelpers``: the command line of ``clhelpers.cli`` (nothing imports this module)."""
import sys

from clhelpers.cli import main

sys.exit(main())
