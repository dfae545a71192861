"""Run the popbase command line: ``python -m popbase``."""

from popbase.cli import main

main()
