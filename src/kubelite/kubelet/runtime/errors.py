"""Runtime errors, classified like the CRI's gRPC status codes.

Hierarchy::

    Exception
      RuntimeServiceError       -- any runtime failure; `message` is what the kubelet reports
        NotFound                -- no sandbox or container with that ID
        AlreadyExists           -- the name (pod/container name + attempt) is taken
        InvalidArgument         -- the config cannot be run (bad user, empty command, ...)
        FailedPrecondition      -- the object is in the wrong state (start twice, exec in a dead one)
        DeadlineExceeded        -- an operation or an exec timed out
        CommandFailed           -- runc, conmon or a helper exited non-zero (argv, returncode, stderr)

The kubelet turns these into pod events and waiting reasons (CreateContainerError, ...); nothing
above the kubelet sees them.
"""

from __future__ import annotations


class RuntimeServiceError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(RuntimeServiceError):
    pass


class AlreadyExists(RuntimeServiceError):
    pass


class InvalidArgument(RuntimeServiceError):
    pass


class FailedPrecondition(RuntimeServiceError):
    pass


class DeadlineExceeded(RuntimeServiceError):
    pass


class CommandFailed(RuntimeServiceError):
    def __init__(self, what: str, argv: list[str], returncode: int, stderr: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{what} failed (exit status {returncode}): {stderr.strip()}")


def sandbox_not_found(sandbox_id: str) -> NotFound:
    return NotFound(f"pod sandbox {sandbox_id!r} not found")


def container_not_found(container_id: str) -> NotFound:
    return NotFound(f"container {container_id!r} not found")
