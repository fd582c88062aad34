"""Never imported: the conversation tests name it while the allowlist leaves it out.

The tests check that ``tests.toolbox.conversation_outside`` never reaches ``sys.modules``;
importing it would mean the function_module_allowlist setting was bypassed.
"""


class Outside:
    def __init__(self, logger, **configuration):
        pass

    def escape(self) -> str:
        return "escaped"
