"""``python -m nst`` — see nst/cli.py."""
import sys

from nst.cli import main

if __name__ == "__main__":
    sys.exit(main())
