"""Errors that reach users.

Every error a user can cause by bad input is an :class:`OpiaxisInputError` that names *where*
(file, line, field) and *what was expected*. The command line prints it without a traceback.
Errors in the model definition itself (a unit mismatch in an equation, a dangling interface
variable) are :class:`ModelDefinitionError` and name the module and equation.
"""

from __future__ import annotations


class OpiaxisError(Exception):
    """Base class of all opiaxis errors."""


class OpiaxisInputError(OpiaxisError, ValueError):
    """Bad user input: a study file, an event table, a regimen string, a dose.

    Parameters
    ----------
    message:
        What is wrong and what was expected.
    file, line, field:
        Where it is. Any may be omitted; those given are printed as ``file:line: field: message``.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where += self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where += f"line {self.line}: "
        if self.field:
            where += f"{self.field}: "
        return where + self.message


class ModelDefinitionError(OpiaxisError):
    """The model itself is inconsistent (units, names, couplings)."""
