"""`python -m bot` is the same program as the `digestbot` console script."""

from bot.cli import main

raise SystemExit(main())
