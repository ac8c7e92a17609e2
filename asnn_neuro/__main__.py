"""``python -m asnn_neuro`` == ``asnn``."""

from .cli import main

raise SystemExit(main())
