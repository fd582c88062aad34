"""``python -m openai_assistant_engine.cli``: the ``oae`` command without its script."""

from . import main

raise SystemExit(main())
