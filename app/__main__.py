"""``python -m app``: the same entry point as ``python main.py`` and the ``sttn-inpaint`` script."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
