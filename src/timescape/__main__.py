"""``python -m timescape``: the command line, through the same fast help path as the script."""

from __future__ import annotations

from timescape.cli._entry import main

if __name__ == "__main__":
    main()
