"""zstd-compressed layers (`application/vnd.oci.image.layer.v1.tar+zstd`), read through Debian's
`zstd` binary: `ZstdReader` runs `zstd -dc`, feeds it the compressed stream from a thread and
reads the tar from its stdout. Blocking: used on the worker threads that apply layers.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from typing import Any, BinaryIO

from ..errors import LayerError

ZSTD = "zstd"
FEED = 1 << 20


def zstd_available() -> bool:
    return shutil.which(ZSTD) is not None


class ZstdReader(io.RawIOBase):
    def __init__(self, src: BinaryIO) -> None:
        binary = shutil.which(ZSTD)
        if binary is None:
            raise LayerError("zstd-compressed layer, but the zstd program is missing (apt-get install zstd)")
        self._proc = subprocess.Popen([binary, "-dc", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        self._src = src
        self._feed_error: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed, name="zstd-feed", daemon=True)
        self._feeder.start()
        self._eof = False

    def _feed(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while True:
                b = self._src.read(FEED)
                if not b:
                    break
                stdin.write(b)
        except BrokenPipeError:
            pass  # zstd stopped reading (bad data, or the reader closed): its exit status says which
        except BaseException as e:  # noqa: BLE001 - reported by read()
            self._feed_error = e
        finally:
            try:
                stdin.close()
            except BrokenPipeError:
                pass

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._eof:
            return 0
        assert self._proc.stdout is not None
        n = self._proc.stdout.readinto(b)
        if n:
            return n
        self._eof = True
        self._finish()
        return 0

    def _finish(self) -> None:
        self._feeder.join()
        code = self._proc.wait()
        err = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
        if self._feed_error is not None:
            raise LayerError(f"reading the zstd layer failed: {self._feed_error}") from self._feed_error
        if code != 0:
            raise LayerError(f"invalid zstd layer: {err or f'zstd exited with {code}'}")

    def close(self) -> None:
        if not self.closed:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._feeder.join(timeout=5)
            for f in (self._proc.stdout, self._proc.stderr):
                if f is not None:
                    f.close()
        super().close()
