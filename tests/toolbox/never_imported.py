"""Must never be imported by the tests: they check that it stays out of sys.modules.

The allow-list tests name this module in function entries while the allowlist excludes
it (``tests.toolbox.probe`` or the bare prefix ``tests.toolbox.never``), so importing it
would be a sandbox escape.
"""


class Forbidden:
    def __init__(self, logger, **configuration):
        pass

    def run(self) -> str:
        return "escaped"
