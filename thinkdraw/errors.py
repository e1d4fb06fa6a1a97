"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""


class ThinkdrawError(Exception):
    """Base class for errors caused by input or environment, reported without a traceback."""

    exit_code = 2


class InputError(ThinkdrawError):
    """Bad user input: empty/huge text, corrupt file, no face, unknown AU, ..."""


class BackendError(ThinkdrawError):
    """An optional backend (LLM endpoint, codec, model package) failed or is missing."""
