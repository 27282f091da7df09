"""``python -m imagetrust``."""

from imagetrust.cli.main import run

run()
