"""A real writer that dies mid-sync: the kill-and-rerun tests of audience destinations."""

from __future__ import annotations

from typing import Any

from connectors.writers import Writer

__all__ = ["DiesAfter", "Killed"]


class Killed(BaseException):
    """The process dying mid-sync."""


class DiesAfter(Writer):
    """Wraps a system's real writer; raises Killed after `left` audience writes."""

    def __init__(self, inner: Writer, left: int) -> None:
        super().__init__(inner.config)
        self.inner, self.left = inner, left

    def update(self, item: Any) -> None:
        self.inner.update(item)

    def apply_audience(self, *args: Any, **kwargs: Any) -> None:
        if self.left == 0:
            raise Killed
        self.inner.apply_audience(*args, **kwargs)
        self.left -= 1

    def close(self) -> None:
        self.inner.close()
