"""Quiet, honest plumbing around coremltools and Core AI for the Core ML chapter.

coremltools talks a lot on stderr: at import it warns that it was tested against older torch and
scikit-learn releases and, off macOS, that its native Core ML bridge is missing; during a conversion it
draws progress bars and logs advice. coreai-torch warns at import that it was validated with older torch
releases and prints a line through ``rich`` (which, in Jupyter, becomes an HTML display); the Core AI runtime
logs from native code straight to file descriptor 2. A notebook whose outputs are compared across machines
cannot keep any of that on stderr, because versions, platforms and progress-bar timings differ. These helpers
drop only the import-time notices named in ``IMPORT_NOISE`` and ``IMPORT_WARNINGS`` and collect everything a
conversion or a Core AI run says as text, so the chapter prints what matters instead of hiding it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

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
    r"^(?:Converting PyTorch Frontend ==> MIL Ops|Running MIL \w+ pipeline|Running compression pass \w+"
    r"|Getting Core ML weights meta data):"
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
# coreai-torch 0.4.3 warns at import when torch is newer than the releases it was validated with (torch <= 2.13).
IMPORT_WARNINGS: tuple[str, ...] = (
    r"IProgress not found\. Please update jupyter and ipywidgets",
    r"invalid escape sequence '\\_'",
    r"coreai-torch has only been validated with torch<=",
)

# Warnings that torch itself raises inside a conversion and that say nothing about the model: torch 2.11's pytree
# deprecates a check that torch.export's own code still makes while coremltools walks the exported program.
TORCH_INTERNAL_WARNINGS: tuple[str, ...] = (r"`isinstance\(treespec, LeafSpec\)` is deprecated",)


@contextlib.contextmanager
def quiet_coremltools_import(
    patterns: tuple[str, ...] = IMPORT_NOISE, warning_patterns: tuple[str, ...] = IMPORT_WARNINGS
) -> Iterator[None]:
    """Import coremltools and coreai-torch inside this block to drop their import-time notices, and only those.

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
def _quiet_rich(sink: io.StringIO) -> Iterator[None]:
    """Point rich's global console (which coreai-torch prints through) at ``sink``, as plain text, for the block."""
    try:
        import rich
        from rich.console import Console
    except ImportError:  # rich is a dependency of coreai-torch; without it there is nothing to redirect
        yield
        return
    saved = rich._console  # rich.get_console() creates this on first use; coreai-torch's progress display uses it
    rich._console = Console(file=sink, force_terminal=False, force_jupyter=False, color_system=None, width=200)
    try:
        yield
    finally:
        rich._console = saved


@contextlib.contextmanager
def _native_stderr(sink: io.StringIO) -> Iterator[None]:
    """Send what native code writes to file descriptor 2 during the block into ``sink`` instead of stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sink.write(capture.read().decode(errors="replace"))


@contextlib.contextmanager
def conversion_messages() -> Iterator[list[str]]:
    """Collect what coremltools, coreai-torch and the Core AI runtime say, as text, instead of writing it to stderr.

    Yields a list that fills with ``"warning: ..."`` lines from the ``coremltools`` logger, ``"UserWarning: ..."``
    lines from the Python warnings that the active filters let through, the lines coreai-torch prints through
    ``rich``, what native code (the Core AI runtime) writes to file descriptor 2, and any other text written to
    ``sys.stderr``; progress bars are the only output dropped. Print the list after the block: nothing is lost,
    and nothing machine-dependent reaches stderr.
    """
    messages: list[str] = []
    logger = logging.getLogger(LOGGER_NAME)
    handler = _Collect(messages)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # keep records away from root handlers and logging's last-resort stderr handler
    stderr, printed, native = io.StringIO(), io.StringIO(), io.StringIO()
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stderr(stderr),
            _quiet_rich(printed),
            _native_stderr(native),
        ):
            warnings.simplefilter("always", UserWarning)  # coremltools' advice, even when repeated
            for pattern in TORCH_INTERNAL_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            yield messages
        messages.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    for text in (printed.getvalue(), native.getvalue(), stderr.getvalue()):
        for piece in re.split(r"[\r\n]+", text):
            if piece.strip() and not PROGRESS_BAR.match(piece.strip()):
                messages.append(piece.strip())


def weights_as_state_dict(mlmodel: Any, reference: Mapping[str, Any]) -> dict[str, Any]:
    """The weights inside a Core ML ML Program, decompressed and keyed like ``reference`` (a PyTorch state_dict).

    coremltools names the constant that holds parameter ``features.0.weight`` of a ``torch.export`` program
    ``p_features_0_weight``, plus ``_to_fp16`` when it was cast and ``_palettized`` / ``_quantized`` /
    ``_sparsified`` when it was compressed. The model's compressed weights are expanded first with
    ``coremltools.optimize.coreml.decompress_weights``, so the result holds the values the compressed model computes
    with, as float32 tensors of the reference's shapes.
    """
    import coremltools.optimize as cto
    import torch

    with conversion_messages():  # both calls draw progress bars
        dense = cto.coreml.decompress_weights(mlmodel)
        found = {name: meta.val for name, meta in cto.coreml.get_weights_metadata(dense, weight_threshold=0).items()}
    result: dict[str, Any] = {}
    for key, tensor in reference.items():
        flat = "p_" + key.replace(".", "_")
        pattern = re.compile(rf"{re.escape(flat)}(?:_to_fp16)?(?:_palettized|_quantized|_sparsified)?")
        names = [name for name in found if pattern.fullmatch(name)]
        if len(names) != 1:
            raise KeyError(f"{key}: expected one weight named like {flat} in the model, found {names}")
        value = torch.from_numpy(found[names[0]].astype("float32"))
        if tuple(value.shape) != tuple(tensor.shape):
            raise ValueError(f"{key}: the model holds shape {tuple(value.shape)}, the reference {tuple(tensor.shape)}")
        result[key] = value
    return result


def ops_of(spec: object, function: str = "main") -> list[str]:
    """The operation types of an ML Program's ``function``, in program order, from a Core ML model spec."""
    if spec.WhichOneof("Type") != "mlProgram":  # type: ignore[attr-defined]
        raise ValueError(f"not an ML Program: the spec holds a {spec.WhichOneof('Type')!r} model")  # type: ignore[attr-defined]
    functions = spec.mlProgram.functions  # type: ignore[attr-defined]
    if function not in functions:
        raise KeyError(f"no function {function!r} in the program: it has {', '.join(functions)}")
    blocks = functions[function].block_specializations
    return [op.type for block in blocks.values() for op in block.operations]

