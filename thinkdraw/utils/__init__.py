"""Small shared helpers: atomic file output and logging set-up."""

from thinkdraw.utils.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from thinkdraw.utils.logs import get_logger, setup_logging

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "get_logger", "setup_logging"]
