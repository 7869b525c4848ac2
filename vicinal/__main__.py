"""`python -m vicinal`: the command line (see vicinal.cli)."""

from vicinal.cli import main

raise SystemExit(main())
