"""The one exception users see: bad input, named by its field, with what is allowed."""


class InputError(Exception):
    """A case file, parameter or command-line value that femqled cannot use.

    The message names the field (a dotted path such as ``layer[2].thickness_nm``) and says what is allowed.
    The CLI prints it as one line and exits with status 2, without a traceback.
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class SolverError(RuntimeError):
    """A numerical failure that step cutting and continuation could not recover from."""


class ComplianceReached(SolverError):
    """Constant-current operation needs more than the voltage compliance (a source-measure unit's limit)."""
