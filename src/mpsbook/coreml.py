"""Quiet, honest plumbing around coremltools for the Core ML chapter.

coremltools talks a lot on stderr: at import it warns that it was tested against older torch and
scikit-learn releases and, off macOS, that its native Core ML bridge is missing; during a conversion it
draws progress bars and logs advice. A notebook whose outputs are compared across machines cannot keep
any of that on stderr, because versions, platforms and progress-bar timings differ. These helpers drop
only the import-time notices named in ``IMPORT_NOISE`` and ``IMPORT_WARNINGS`` and collect everything a
conversion says as text, so the chapter prints what matters instead of hiding it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator

LOGGER_NAME = "coremltools"

IMPORT_NOISE: tuple[str, ...] = (
    # The version checks in coremltools/_deps: "Torch version 2.14.1 has not been tested with coremltools. ..."
    r"^\S+ version \S+ has not been tested with coremltools\.",
    # "scikit-learn version 1.9.1 is not supported. ... Disabling scikit-learn conversion API." (TensorFlow alike)
    r"^[\w-]+ version \S+ is not supported\.",
    # Off macOS the compiled Core ML bridge does not exist: "Failed to load _MLModelProxy: No module named ..."
    r"^Failed to load _ML\w+Proxy: No module named 'coremltools\.libcoremlpython'",
)

# tqdm bars that coremltools draws while converting or compressing a model.
PROGRESS_BAR = re.compile(
    r"^(?:Converting PyTorch Frontend ==> MIL Ops|Running MIL \w+ pipeline|Running compression pass \w+):"
)


class _DropMatching(logging.Filter):
    """A logging filter that drops records whose message matches one of ``patterns``."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.search(message) for p in self.patterns)


# coremltools imports transformers when it is installed, which imports tqdm.auto; inside a Jupyter kernel without
# ipywidgets, tqdm then warns (TqdmWarning) that it cannot draw notebook progress bars.
# On Python 3.12+, compiling coremltools 9.0's sources the first time (a wheel installed without .pyc files) warns
# about a docstring's escape sequence (SyntaxWarning: invalid escape sequence '\_').
IMPORT_WARNINGS: tuple[str, ...] = (
    r"IProgress not found\. Please update jupyter and ipywidgets",
    r"invalid escape sequence '\\_'",
)

# Warnings that torch itself raises inside a conversion and that say nothing about the model: torch 2.11's pytree
# deprecates a check that torch.export's own code still makes while coremltools walks the exported program.
TORCH_INTERNAL_WARNINGS: tuple[str, ...] = (r"`isinstance\(treespec, LeafSpec\)` is deprecated",)


@contextlib.contextmanager
def quiet_coremltools_import(
    patterns: tuple[str, ...] = IMPORT_NOISE, warning_patterns: tuple[str, ...] = IMPORT_WARNINGS
) -> Iterator[None]:
    """Import coremltools inside this block to drop its import-time notices, and only those.

    ``patterns`` match messages of the ``coremltools`` logger, ``warning_patterns`` Python warnings raised during
    the import. Every other message and warning still reaches stderr as usual.
    """
    logger = logging.getLogger(LOGGER_NAME)  # the same logger coremltools creates for itself
    drop = _DropMatching(patterns)
    logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            for pattern in warning_patterns:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        logger.removeFilter(drop)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname.lower()}: {record.getMessage()}")


@contextlib.contextmanager
def conversion_messages() -> Iterator[list[str]]:
    """Collect what coremltools says during a conversion, as text, instead of writing it to stderr.

    Yields a list that fills with ``"warning: ..."`` lines from the ``coremltools`` logger, ``"UserWarning: ..."``
    lines from the Python warnings that the active filters let through, and any other text written to stderr;
    progress bars are the only output dropped. Print the list after the block: nothing is lost, and nothing
    machine-dependent reaches stderr.
    """
    messages: list[str] = []
    logger = logging.getLogger(LOGGER_NAME)
    handler = _Collect(messages)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # keep records away from root handlers and logging's last-resort stderr handler
    stderr = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always", UserWarning)  # coremltools' advice, even when repeated
            for pattern in TORCH_INTERNAL_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            yield messages
        messages.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    for piece in re.split(r"[\r\n]+", stderr.getvalue()):
        if piece.strip() and not PROGRESS_BAR.match(piece.strip()):
            messages.append(piece.strip())


def ops_of(spec: object, function: str = "main") -> list[str]:
    """The operation types of an ML Program's ``function``, in program order, from a Core ML model spec."""
    if spec.WhichOneof("Type") != "mlProgram":  # type: ignore[attr-defined]
        raise ValueError(f"not an ML Program: the spec holds a {spec.WhichOneof('Type')!r} model")  # type: ignore[attr-defined]
    functions = spec.mlProgram.functions  # type: ignore[attr-defined]
    if function not in functions:
        raise KeyError(f"no function {function!r} in the program: it has {', '.join(functions)}")
    blocks = functions[function].block_specializations
    return [op.type for block in blocks.values() for op in block.operations]

