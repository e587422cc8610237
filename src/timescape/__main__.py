"""``python -m timescape``: the command line."""

from __future__ import annotations

from timescape.cli.main import main

if __name__ == "__main__":
    main()
