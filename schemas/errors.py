"""One exception tree for the whole project.

Every error Touchpoint Sentinel raises on purpose derives from `SentinelError`;
the ones caused by bad input are also `ValueError`s so generic callers can
catch them without knowing this module. `retriable` tells a caller whether
trying again later can help (it never does for bad input). `exit_code` is what
`sentinel` exits with when the error stops a command; the README lists them.
Messages are one line meant for an operator, and never carry a secret.
"""

from __future__ import annotations


class SentinelError(Exception):
    """Root of every error raised on purpose by Touchpoint Sentinel."""

    retriable: bool = False
    exit_code: int = 2


class InvalidEvent(SentinelError, ValueError):
    """A touchpoint that breaks the input contract; `reason` is a stable code for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class ConfigError(SentinelError, ValueError):
    """A settings or thresholds file, or an environment variable, with an unknown key or a bad value."""


class BrokerUnreachable(SentinelError):
    """No connection to the Kafka cluster: refused, timed out, or the name does not resolve."""

    retriable = True
    exit_code = 3


class AuthenticationFailed(SentinelError):
    """The broker refused the SASL credentials (or the mechanism)."""

    exit_code = 4


class TlsError(SentinelError):
    """The TLS handshake failed: an untrusted or wrong-host broker certificate, or a refused client one."""

    exit_code = 5


class SecurityMismatch(SentinelError):
    """The broker's port speaks another security protocol than `security_protocol` says (TLS or not)."""

    exit_code = 6


class PortInUse(SentinelError):
    """A port this process must listen on (metrics, embedded broker) is taken."""

    exit_code = 7


class BrokerError(SentinelError, RuntimeError):
    """The broker refused a request or failed (a topic disagrees, the embedded broker would not run)."""

    exit_code = 8


class WorkerCrashed(SentinelError, RuntimeError):
    """The worker failed after it had started (a bug, a state store it cannot open): the log holds
    the traceback once, and the command ends with one line naming the exception and where it rose."""

    exit_code = 9


class InvalidAlert(SentinelError, ValueError):
    """Bytes that are no alert event of the published contract; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
