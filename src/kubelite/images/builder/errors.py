"""Build errors, pointing at the Dockerfile line like BuildKit does.

Hierarchy::

    ImageError (kubelite.images.errors)
      BuildError        -- a build that cannot go on: message, Dockerfile name and line
        RunError        -- a RUN step exited non-zero (its exit code)
"""

from __future__ import annotations

from ..errors import ImageError


class BuildError(ImageError):
    def __init__(self, message: str, *, filename: str = "Dockerfile", line: int = 0, end_line: int = 0) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.end_line = end_line or line
        where = f"{filename}:{line}: " if line else ""
        super().__init__(f"{where}{message}")

    def snippet(self, lines: list[str], context: int = 2) -> str:
        """The Dockerfile around the failing instruction, `>>>` on its lines (BuildKit's format)."""
        if not self.line or not lines:
            return ""
        lo = max(1, self.line - context)
        hi = min(len(lines), self.end_line + context)
        width = len(str(hi))
        out = ["--------------------"]
        for n in range(lo, hi + 1):
            mark = ">>>" if self.line <= n <= self.end_line else "   "
            out.append(f" {n:>{width}} | {mark} {lines[n - 1]}")
        out.append("--------------------")
        return "\n".join(out)


class RunError(BuildError):
    def __init__(self, command: str, exit_code: int, *, filename: str = "Dockerfile", line: int = 0,
                 end_line: int = 0) -> None:
        super().__init__(f'process "{command}" did not complete successfully: exit code: {exit_code}',
                         filename=filename, line=line, end_line=end_line)
        self.exit_code = exit_code
