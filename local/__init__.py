"""The local runtime: mailroom on an embedded AWS emulator (`python -m local.runtime`, or `make run`)."""
import logging


def configure_logging() -> None:
    """The runtime's own lines (loggers under "local") at INFO; libraries only when they warn."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("local").setLevel(logging.INFO)
