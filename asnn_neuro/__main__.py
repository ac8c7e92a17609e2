"""``python -m asnn_neuro`` == ``asnn``."""

import sys

try:
    from asnn_neuro.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing: the same exit as later
    print("asnn: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
