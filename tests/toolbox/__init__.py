"""Tool classes the tool-runner tests import by module name."""
