"""What the suite measures: the sweeps, and one :class:`Case` per measurement, each with its FLOP or byte count.

Benchmarks (``BENCHMARKS``):

- ``matmul``, ``elementwise``: square matrix products over sizes and dtypes; an add over sizes (its small sizes
  show the fixed cost of one operation).
- ``resnet50``, ``lstm``, ``bert``: inference with random weights, the models of the guide's section 5.2.
- ``train_resnet50_32``, ``train_resnet50_224``, ``train_distilbert_512``: one training step (forward, backward,
  optimizer step) on synthetic data of the shapes the public Mac benchmark mac-ml-speed-test trains on: ResNet-50
  with 100 classes on 32×32 (CIFAR-sized) and 224×224 (Food-101-sized) images with Adam (lr 1e-3), and DistilBERT
  sequence classification at sequence length 512 with AdamW (lr 2e-5), only its last block and head trained, as
  that source does. float32, and autocast to bfloat16/float16 where the device runs it; eager, and for one batch
  size of the CIFAR-sized ResNet-50 also ``torch.compile`` (each compilation takes a minute or more).
- ``sdpa``: ``scaled_dot_product_attention`` over sequence length.
- ``devbench_matmul``, ``devbench_copy``: the sizes and operations of chsasank/device-benchmarks (``a @ a`` for
  n = 2^8 … 2^12.75 in quarter powers; ``copy_`` of float32 tensors of 2^20 … 2^26.5 elements, counting bytes
  read and written), timed by this suite's harness (which warms up; the source does not).

Data never comes from disk or the network: every input is random, so the figures measure compute, not loading.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
INFERENCE = ("resnet50", "lstm", "bert")
TRAINING = ("train_resnet50_32", "train_resnet50_224", "train_distilbert_512")
BENCHMARKS = ("matmul", "elementwise", *INFERENCE, *TRAINING, "sdpa", "devbench_matmul", "devbench_copy")
MODES = ("eager", "compile")
#: torch.compile's mode for each compiled mode: "compile" is its default; "reduce-overhead" adds CUDA graphs (profiled
#: by ``--profile-steps`` only, not by the suite)
COMPILE_MODES = {"compile": None, "reduce-overhead": "reduce-overhead"}

#: The guide (section 5.2) gives only ``seq_len=512`` and ``hidden_size=512`` for its LSTM row. The rest
#: is this book's choice: one layer, input size 512 (equal to the hidden size), batch-first inputs.
LSTM_SHAPE = {"input_size": 512, "hidden_size": 512, "num_layers": 1, "seq_len": 512}
#: BERT-base as ``transformers.BertConfig()`` defines it, at the guide's sequence length.
BERT_SEQ_LEN = 128
#: ResNet-50's ImageNet input.
RESNET_IMAGE = (3, 224, 224)
#: Training workloads as mac-ml-speed-test defines them (results/reported/mrdbourke-mac-ml-speed-test.yaml):
#: image side, classes, and the images in one epoch of the data set whose shapes they copy.
TRAIN_IMAGES = {"train_resnet50_32": (32, 100, 50_000), "train_resnet50_224": (224, 100, 75_750)}
DISTILBERT_SEQ_LEN = 512
#: Attention shape for ``sdpa``: batch, heads, head dimension (GPT-2-small-like heads).
SDPA_SHAPE = {"batch": 4, "heads": 12, "head_dim": 64}


@dataclass(frozen=True)
class Sweep:
    """What one run measures: sizes per benchmark, batch sizes per model, and the timing budget."""

    name: str
    matmul_sizes: dict[str, tuple[int, ...]]  # dtype name -> square sizes n (n x n @ n x n)
    elementwise_sizes: tuple[int, ...]  # numbers of float32 elements
    model_batches: dict[str, tuple[int, ...]]  # inference or training benchmark -> batch sizes
    train_dtypes: tuple[str, ...] = ("float32",)  # float32, or autocast to bfloat16 / float16
    compile_batches: dict[str, tuple[int, ...]] = field(default_factory=dict)  # also timed under torch.compile
    compile_dtypes: tuple[str, ...] = ("float32",)  # the train_dtypes timed compiled (each costs a compilation)
    sdpa_lengths: tuple[int, ...] = ()
    sdpa_dtypes: tuple[str, ...] = ("float32",)
    devbench: bool = False  # the device-benchmarks matmul and copy sizes
    min_run_time: float = 0.2  # seconds of timed blocks before the spread may stop a case
    max_run_time: float = 2.0  # a case stops after this many seconds of timed blocks, stable or not
    max_call_s: float | None = None  # a matrix product slower than this per call skips the larger sizes of its dtype
    warmup: int = 1  # untimed calls before timing
    block_time: float = 0.05  # seconds a timed block of calls should last
    min_samples: int = 5  # timed blocks at least (more while the spread is large)
    max_spread: float = 0.10  # keep sampling while IQR / median is above this, up to max_run_time

    def __post_init__(self) -> None:
        named = set(self.matmul_sizes) | set(self.train_dtypes) | set(self.sdpa_dtypes) | set(self.compile_dtypes)
        unknown = named - set(DTYPES)
        if unknown:
            raise ValueError(f"Unknown dtype(s) {sorted(unknown)}: use {', '.join(DTYPES)}.")
        unknown = (set(self.model_batches) | set(self.compile_batches)) - set(INFERENCE + TRAINING)
        if unknown:
            raise ValueError(f"Unknown model(s) {sorted(unknown)}: use {', '.join(INFERENCE + TRAINING)}.")
        if not 0 < self.min_run_time <= self.max_run_time:
            raise ValueError("Need 0 < min_run_time <= max_run_time (seconds).")
        if self.min_samples < 1 or not self.max_spread > 0:
            raise ValueError("Need min_samples >= 1 and max_spread > 0.")


def _powers(lo: int, hi: int, step: int = 1) -> tuple[int, ...]:
    return tuple(2**p for p in range(lo, hi + 1, step))


#: ``full`` runs on accelerators; ``cpu`` is the reduced sweep for the CPU part of a run: its matrix products go up
#: to n = 4096 in every dtype, and a dtype stops growing once one product takes over ``max_call_s`` (a float16 product
#: on a CPU without half-precision arithmetic can take over a minute at 2048, while a CPU with it, such as an Apple
#: M-series or a Xeon with AVX-512 FP16, keeps going); ``quick`` is for tests and small machines.
SWEEPS: dict[str, Sweep] = {
    "full": Sweep(
        "full",
        matmul_sizes={d: _powers(6, 13) for d in DTYPES},  # 64 … 8192
        elementwise_sizes=_powers(10, 28, 2),  # 1 Ki … 256 Mi elements (1 GiB a tensor)
        model_batches={
            "resnet50": (1, 32), "lstm": (1, 32), "bert": (1, 32),
            "train_resnet50_32": (32, 128, 512), "train_resnet50_224": (32, 64), "train_distilbert_512": (16, 64),
        },
        train_dtypes=("float32", "bfloat16", "float16"),
        compile_batches={"train_resnet50_32": (128,)},
        compile_dtypes=("float32", "bfloat16"),
        sdpa_lengths=_powers(7, 13),  # 128 … 8192
        sdpa_dtypes=("float32", "bfloat16", "float16"),
        devbench=True,
    ),
    "cpu": Sweep(
        "cpu",
        matmul_sizes={d: _powers(6, 12) for d in DTYPES},  # 64 … 4096, cut short by max_call_s
        elementwise_sizes=_powers(10, 26, 2),  # 1 Ki … 64 Mi elements
        model_batches={
            "resnet50": (1, 32), "lstm": (1, 32), "bert": (1, 32),
            "train_resnet50_32": (32,), "train_resnet50_224": (32,), "train_distilbert_512": (16,),
        },
        train_dtypes=("float32", "bfloat16"),
        compile_batches={"train_resnet50_32": (32,)},
        sdpa_lengths=_powers(7, 11),  # 128 … 2048
        devbench=True,
        max_run_time=1.5,
        max_call_s=0.5,
    ),
    "quick": Sweep(
        "quick",
        matmul_sizes={d: _powers(6, 8) for d in DTYPES},  # 64, 128, 256
        elementwise_sizes=_powers(10, 16, 2),
        model_batches={"resnet50": (1,), "lstm": (1,), "bert": (1,), "train_resnet50_32": (8,)},
        sdpa_lengths=(128, 256),
        min_run_time=0.05,
        max_run_time=0.5,
        min_samples=3,
    ),
}


def first_line(err: BaseException) -> str:
    """``TypeName: first line of the message``, at most 300 characters: how a skipped case says why."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


@dataclass
class Case:
    """One measurement: ``build(device)`` allocates and returns the zero-argument callable to time."""

    benchmark: str
    build: Callable[[torch.device], Callable[[], object]]
    dtype: str = "float32"
    size: int | None = None
    batch: int | None = None
    shape: str = ""
    mode: str = "eager"  # or "compile": the model went through torch.compile (its compile time is recorded apart)
    flop: float | None = None  # floating-point operations per call
    bytes: int | None = None  # bytes one call must read and write at least
    needs_bytes: int | None = None  # memory to check before allocating
    skip_note: str | None = None  # set when the case is known not to run here
    extra: dict[str, object] = field(default_factory=dict)

    def label(self) -> str:
        what = f"{self.benchmark} {self.dtype}"
        if self.size is not None:
            what += f" {self.size}"
        if self.batch is not None:
            what += f" batch {self.batch}"
        return what + (" compiled" if self.mode == "compile" else "")


def _matmul_case(n: int, dtype: str, benchmark: str = "matmul") -> Case:
    torch_dtype = DTYPES[dtype]
    itemsize = torch.empty((), dtype=torch_dtype).element_size()

    def build(device: torch.device) -> Callable[[], object]:
        a = torch.randn(n, n, device=device, dtype=torch_dtype)
        b = torch.randn(n, n, device=device, dtype=torch_dtype)
        out = torch.empty(n, n, device=device, dtype=torch_dtype)
        return lambda: torch.mm(a, b, out=out)

    return Case(
        benchmark, build, dtype=dtype, size=n, shape=f"({n}, {n}) @ ({n}, {n})",
        flop=2.0 * n**3, bytes=3 * n * n * itemsize, needs_bytes=3 * n * n * itemsize,
    )


def _elementwise_case(n: int) -> Case:
    def build(device: torch.device) -> Callable[[], object]:
        a = torch.rand(n, device=device)
        b = torch.rand(n, device=device)
        out = torch.empty(n, device=device)
        return lambda: torch.add(a, b, out=out)

    return Case(
        "elementwise", build, size=n, shape=f"add of two ({n},) float32 tensors",
        flop=float(n), bytes=3 * n * 4, needs_bytes=3 * n * 4,
    )


def _copy_case(n: int) -> Case:
    def build(device: torch.device) -> Callable[[], object]:
        a = torch.empty(n, device=device)
        b = torch.rand(n, device=device)
        return lambda: a.copy_(b)

    return Case(
        "devbench_copy", build, size=n, shape=f"copy_ of a ({n},) float32 tensor (bytes read + written)",
        bytes=2 * n * 4, needs_bytes=2 * n * 4,
    )


def devbench_sizes() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """device-benchmarks' sizes: matmul n = int(2**k), k = 8, 8.25, … 12.75; copy n = int(2**k), k = 20 … 26.5."""
    matmul = tuple(int(2 ** (8 + i / 4)) for i in range(20))
    copy = tuple(int(2 ** (20 + i / 2)) for i in range(14))
    return matmul, copy


def _sdpa_case(length: int, dtype: str) -> Case:
    b, h, d = SDPA_SHAPE["batch"], SDPA_SHAPE["heads"], SDPA_SHAPE["head_dim"]
    torch_dtype = DTYPES[dtype]
    itemsize = torch.empty((), dtype=torch_dtype).element_size()

    def build(device: torch.device) -> Callable[[], object]:
        q, k, v = (torch.randn(b, h, length, d, device=device, dtype=torch_dtype) for _ in range(3))
        return lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v)

    # Memory: q, k, v and the output, no L x L term. Without a mask, dropout or autograd, torch 2.14.1 runs this
    # shape (head dim 64) through kernels that never store the L x L scores: memory-efficient or flash attention
    # on CUDA, flash attention on the CPU, and on MPS the fused prefill kernel (kernels/PrefillAttention.h, float32,
    # float16 and bfloat16). Where a kernel does store them and they do not fit, the allocation fails and
    # harness.run_case records the case as skipped for memory.
    return Case(
        "sdpa", build, dtype=dtype, size=length, shape=f"q, k, v ({b}, {h}, {length}, {d}), no mask",
        flop=4.0 * b * h * length * length * d,  # Q @ K^T and the weights @ V
        bytes=4 * b * h * length * d * itemsize, needs_bytes=4 * b * h * length * d * itemsize,
    )


def _make_model(benchmark: str, device: torch.device, batch: int) -> tuple[torch.nn.Module, object]:
    """Model with random weights, and its input, on ``device`` (eval mode for inference benchmarks)."""
    with torch.device(device):
        if benchmark == "resnet50":
            import torchvision

            return torchvision.models.resnet50(weights=None).eval(), torch.randn(batch, *RESNET_IMAGE)
        if benchmark == "lstm":
            lstm = torch.nn.LSTM(
                LSTM_SHAPE["input_size"], LSTM_SHAPE["hidden_size"], num_layers=LSTM_SHAPE["num_layers"],
                batch_first=True,
            ).eval()
            return lstm, torch.randn(batch, LSTM_SHAPE["seq_len"], LSTM_SHAPE["input_size"])
        if benchmark == "bert":
            from transformers import BertConfig, BertModel

            config = BertConfig()
            model = BertModel(config).eval()
            ids = torch.randint(0, config.vocab_size, (batch, BERT_SEQ_LEN))
            return model, {"input_ids": ids}
        if benchmark in TRAIN_IMAGES:
            import torchvision

            side, classes, _ = TRAIN_IMAGES[benchmark]
            model = torchvision.models.resnet50(weights=None, num_classes=classes).train()
            return model, (torch.randn(batch, 3, side, side), torch.randint(0, classes, (batch,)))
        if benchmark == "train_distilbert_512":
            from transformers import DistilBertConfig, DistilBertForSequenceClassification

            config = DistilBertConfig(num_labels=2)
            model = DistilBertForSequenceClassification(config).train()
            for p in model.parameters():  # mac-ml-speed-test trains the last block and the head only
                p.requires_grad_(False)
            for part in (model.distilbert.transformer.layer[-1], model.pre_classifier, model.classifier):
                for p in part.parameters():
                    p.requires_grad_(True)
            ids = torch.randint(0, config.vocab_size, (batch, DISTILBERT_SEQ_LEN))
            return model, (ids, torch.randint(0, 2, (batch,)))
    raise ValueError(f"Unknown model {benchmark!r}: use one of {', '.join(INFERENCE + TRAINING)}.")


def model_flop(benchmark: str, batch: int) -> float:
    """Floating-point operations of one call: a forward pass for inference, forward + backward for training.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta`` device (no memory, seconds at most;
    matmuls and convolutions, not elementwise ops). The LSTM's count is its gate matmuls, 2 × 4 gates × hidden ×
    (input + hidden) per token and layer: what the counter finds too, but it needs seconds to trace 512 steps.
    """
    from torch.utils.flop_counter import FlopCounterMode

    if benchmark == "lstm":
        s = LSTM_SHAPE
        return 2.0 * 4 * s["hidden_size"] * (s["input_size"] + s["hidden_size"]) * s["seq_len"] * batch * s[
            "num_layers"]
    model, inputs = _make_model(benchmark, torch.device("meta"), batch)
    with FlopCounterMode(display=False) as counter:
        if benchmark in TRAINING:
            _loss(benchmark, model, inputs).backward()
        else:
            with torch.no_grad():
                model(**inputs) if isinstance(inputs, dict) else model(inputs)
    return float(counter.get_total_flops())


def _loss(benchmark: str, model: torch.nn.Module, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = inputs
    if benchmark == "train_distilbert_512":
        return model(input_ids=x, labels=y).loss
    return torch.nn.functional.cross_entropy(model(x), y)


_SHAPES = {
    "resnet50": lambda b: f"torchvision resnet50(weights=None), input ({b}, 3, 224, 224)",
    "lstm": lambda b: (
        f"nn.LSTM({LSTM_SHAPE['input_size']}, {LSTM_SHAPE['hidden_size']}, num_layers={LSTM_SHAPE['num_layers']},"
        f" batch_first=True), input ({b}, {LSTM_SHAPE['seq_len']}, {LSTM_SHAPE['input_size']})"
    ),
    "bert": lambda b: f"transformers BertModel(BertConfig()), input_ids ({b}, {BERT_SEQ_LEN})",
    "train_resnet50_32": lambda b: f"resnet50(num_classes=100) training step, Adam, images ({b}, 3, 32, 32)",
    "train_resnet50_224": lambda b: f"resnet50(num_classes=100) training step, Adam, images ({b}, 3, 224, 224)",
    "train_distilbert_512": lambda b: (
        f"DistilBertForSequenceClassification(2 labels) training step, AdamW, last block + head trained, "
        f"input_ids ({b}, {DISTILBERT_SEQ_LEN})"
    ),
}


def _inference_case(benchmark: str, batch: int) -> Case:
    def build(device: torch.device) -> Callable[[], object]:
        model, inputs = _make_model(benchmark, device, batch)

        def run() -> object:
            with torch.inference_mode():
                return model(**inputs) if isinstance(inputs, dict) else model(inputs)

        return run

    return Case(benchmark, build, batch=batch, shape=_SHAPES[benchmark](batch))


def _training_case(benchmark: str, batch: int, dtype: str, mode: str) -> Case:
    """One optimizer step; ``dtype`` other than float32 means autocast to it (weights and optimizer stay float32)."""

    def build(device: torch.device) -> Callable[[], object]:
        model, inputs = _make_model(benchmark, device, batch)
        params = [p for p in model.parameters() if p.requires_grad]
        if benchmark == "train_distilbert_512":
            optimizer: torch.optim.Optimizer = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.01)
        else:
            optimizer = torch.optim.Adam(params, lr=1e-3)
        forward = model if mode == "eager" else torch.compile(model, mode=COMPILE_MODES[mode])
        autocast = dtype != "float32"

        def step() -> object:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=DTYPES[dtype], enabled=autocast):
                loss = _loss(benchmark, forward, inputs)
            loss.backward()
            optimizer.step()
            return loss

        return step

    # float16 autocast without torch.amp.GradScaler: the step leaves out the scaler's work (scaling the loss,
    # unscaling and checking the gradients), which real float16 training adds.
    precision = "float32" if dtype == "float32" else f"autocast to {dtype}"
    if dtype == "float16":
        precision += ", no GradScaler"
    return Case(
        benchmark, build, dtype=dtype, batch=batch, mode=mode, shape=f"{_SHAPES[benchmark](batch)}, {precision}",
        extra={"epoch_items": TRAIN_IMAGES[benchmark][2]} if benchmark in TRAIN_IMAGES else {},
    )


def dtype_supported(device: torch.device, dtype: str) -> tuple[bool, str]:
    """Try a small matmul in ``dtype`` on ``device``: (works, why not)."""
    try:
        a = torch.ones(16, 16, device=device, dtype=DTYPES[dtype])
        float((a @ a).sum())
    except (RuntimeError, TypeError, NotImplementedError) as err:
        return False, f"{dtype} matmul not supported on {device.type}: {first_line(err)}"
    return True, ""


def _with_flop(case: Case) -> Case:
    try:
        case.flop = model_flop(case.benchmark, int(case.batch or 1))
    except ImportError as err:  # transformers or torchvision missing
        case.skip_note = f"not installed: {err.name}"
    return case


def build_cases(sweep: Sweep, device: torch.device, only: Iterable[str] | None = None) -> list[Case]:
    """The cases of ``sweep`` in run order, limited to the benchmarks in ``only``."""
    wanted = set(only or BENCHMARKS)
    unknown = wanted - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"Unknown benchmark(s) {sorted(unknown)}: use {', '.join(BENCHMARKS)}.")
    support = {dtype: dtype_supported(device, dtype) for dtype in DTYPES}
    cases: list[Case] = []

    def add(case: Case) -> None:
        ok, why = support[case.dtype]
        if not ok:
            case.skip_note = why
        cases.append(case)

    if "matmul" in wanted:
        for dtype, sizes in sweep.matmul_sizes.items():
            for n in sizes:
                add(_matmul_case(n, dtype))
    if "elementwise" in wanted:
        cases += [_elementwise_case(n) for n in sweep.elementwise_sizes]
    for benchmark in INFERENCE:
        if benchmark in wanted:
            cases += [_with_flop(_inference_case(benchmark, b)) for b in sweep.model_batches.get(benchmark, ())]
    for benchmark in TRAINING:
        if benchmark not in wanted:
            continue
        for batch in sweep.model_batches.get(benchmark, ()):
            flop = None
            compiled = batch in sweep.compile_batches.get(benchmark, ())
            for mode in MODES if compiled else ("eager",):
                for dtype in sweep.train_dtypes if mode == "eager" else sweep.compile_dtypes:
                    case = _training_case(benchmark, batch, dtype, mode)
                    if flop is None:
                        flop = _with_flop(case).flop
                    case.flop = flop
                    add(case)
    if "sdpa" in wanted:
        for dtype in sweep.sdpa_dtypes:
            for length in sweep.sdpa_lengths:
                add(_sdpa_case(length, dtype))
    if sweep.devbench:
        matmul, copy = devbench_sizes()
        if "devbench_matmul" in wanted:
            for n in matmul:
                add(_matmul_case(n, "float32", "devbench_matmul"))
        if "devbench_copy" in wanted:
            cases += [_copy_case(n) for n in copy]
    return cases


def epoch_steps(record: Mapping[str, object]) -> int | None:
    """Optimizer steps in one epoch of the data set whose shapes a training case copies: ⌈images / batch⌉.

    ``None`` for a record that is not a training case of such a data set (no ``epoch_items``, or a missing value).
    """
    items, batch = record.get("epoch_items"), record.get("batch")
    if not all(isinstance(x, numbers.Real) and x == x and x > 0 for x in (items, batch)):  # x == x: not NaN
        return None
    return math.ceil(int(items) / int(batch))  # type: ignore[arg-type]


def epoch_seconds(record: Mapping[str, object]) -> float | None:
    """Seconds for one epoch of the data set whose shapes a training case copies: steps × median step time.

    Computed, not measured end to end: it leaves out data loading and augmentation, which mac-ml-speed-test's
    figure includes, so it is a lower bound on that figure's workload. Multiply :func:`epoch_steps` by ``iqr_s``
    for the spread in the same unit.
    """
    steps, median = epoch_steps(record), record.get("median_s")
    if steps is None or not (isinstance(median, numbers.Real) and median == median and median > 0):
        return None
    return steps * float(median)
