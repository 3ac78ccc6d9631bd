"""``python -m generator.cli``: the same as ``opsbench``."""

from generator.cli import main

main()
