"""Domain errors. Each carries a short Chinese sentence that front ends show as is."""


class DomainError(Exception):
    """A use case refused; ``str(error)`` is the Chinese reason shown to the user."""


class NotFound(DomainError):
    """What the user named is not in the ledger (or no longer valid, like an old button)."""


class Forbidden(DomainError):
    """The user's role or scope does not allow this."""


class Conflict(DomainError):
    """Someone else changed the ledger meanwhile, or the ledger is not in the state needed."""


class InvalidInput(DomainError):
    """The input cannot be understood or breaks a rule (bad name, bad date, too long ...)."""
