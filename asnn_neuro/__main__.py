"""``python -m asnn_neuro`` == ``asnn``."""

from asnn_neuro.cli import main

raise SystemExit(main())
