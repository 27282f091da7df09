"""``python -m imagetrust``."""

import sys

from imagetrust.cli.main import main

sys.exit(main())
