"""Domain errors. Each carries a short Chinese sentence that front ends show as is."""


class DomainError(Exception):
    """A use case refused; ``str(error)`` is the Chinese reason shown to the user."""


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidInput(DomainError):
    pass
