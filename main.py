"""Entry point: `python main.py` (GUI, or the demo without a display), `python main.py --help` for commands."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
