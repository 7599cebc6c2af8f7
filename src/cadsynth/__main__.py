"""`python -m cadsynth` runs the command line."""

from cadsynth.cli import main

main()
