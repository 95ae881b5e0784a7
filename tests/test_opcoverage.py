import pytest

from mpsbook.opcoverage import (
    count_kernels,
    load_entries,
    missing_for,
    native_functions_path,
    operators,
)

SMALL = """
- func: mm(Tensor self, Tensor mat2) -> Tensor
  structured_delegate: mm.out
  dispatch:
    SparseCPU, SparseCUDA: _sparse_mm

- func: mm.out(Tensor self, Tensor mat2, *, Tensor(a!) out) -> Tensor(a!)
  structured: True
  dispatch:
    CPU: mm_out_cpu
    CUDA: mm_out_cuda
    MPS: mm_out_mps

- func: take(Tensor self, Tensor index) -> Tensor
  dispatch:
    CPU, CUDA: take

- func: matmul(Tensor self, Tensor other) -> Tensor
  variants: function, method

- func: zeros_like(Tensor self) -> Tensor
  dispatch:
    CompositeExplicitAutograd: zeros_like

- func: add.out(Tensor self, Tensor other, *, Tensor(a!) out) -> Tensor(a!)
  structured: True
  ufunc_inner_loop:
    Generic: add (AllAndComplex)
  dispatch:
    MPS: add_out_mps

- func: only_sparse(Tensor self) -> Tensor
  dispatch:
    SparseCPU: only_sparse_cpu
"""


@pytest.fixture
def ops():
    return operators(load_entries(SMALL))


def test_comma_joined_keys_are_split(ops):
    assert ops["take"].keys == {"CPU", "CUDA"}


def test_structured_delegate_is_followed(ops):
    assert {"CPU", "CUDA", "MPS"} <= ops["mm"].keys
    assert "SparseCPU" in ops["mm"].keys  # its own keys are kept too
    assert ops["mm"].delegate == "mm.out"


def test_entry_without_dispatch_is_composite_implicit(ops):
    assert ops["matmul"].keys == {"CompositeImplicitAutograd"}
    assert ops["matmul"].composite and ops["zeros_like"].composite
    assert not ops["take"].composite


def test_ufunc_entries_get_cpu_and_cuda_kernels(ops):
    assert ops["add.out"].keys == {"CPU", "CUDA", "MPS"}


def test_counts_and_missing(ops):
    counts = count_kernels(ops)
    assert counts == {"CPU": 4, "CUDA": 4, "MPS": 3, "composite": 2, "total": 7}
    assert [op.name for op in missing_for(ops)] == ["take"]
    assert ops["only_sparse"].keys == {"SparseCPU"} and not ops["only_sparse"].composite


def test_base_name_drops_the_overload(ops):
    assert ops["mm.out"].base == "mm"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="expected a list of entries"):
        load_entries("just: a mapping")
    with pytest.raises(ValueError, match="does not define"):
        operators(load_entries("- func: f(Tensor a) -> Tensor\n  structured_delegate: f.out\n"))
    with pytest.raises(ValueError, match="cannot also be a reference"):
        missing_for({}, backend="CPU")


def test_the_installed_torch_ships_the_file():
    ops = operators(load_entries())
    assert native_functions_path().name == "native_functions.yaml"
    assert len(ops) > 2000
    assert {"CPU", "CUDA", "MPS"} <= ops["mm"].keys


def test_categories_for_mps(ops):
    from mpsbook.opcoverage import CATEGORIES, category

    assert category(ops["mm"]) == "MPS kernel"
    assert category(ops["matmul"]) == "composite"
    assert category(ops["take"]) == "CPU and CUDA only"
    assert category(ops["take"], fallback={"take"}) == "CPU fallback (registered)"
    assert category(ops["only_sparse"]) == "other backends only"
    assert {category(op) for op in ops.values()} <= set(CATEGORIES)


def test_python_module_is_kept():
    ops = operators(load_entries("- func: special_ndtri(Tensor self) -> Tensor\n  python_module: special\n"))
    assert ops["special_ndtri"].module == "special"


COMMON_MPS = """
import torch
if torch.backends.mps.is_available():
    def mps_ops_modifier(ops):
        UNIMPLEMENTED_XFAILLIST: dict[str, list | None] = {
            "take": None,
            "nn.functional.conv2d": [torch.int64],
            "stft": [torch.float16, torch.bfloat16],
        }
        OTHER = {"sort": [torch.int8]}
"""


def test_expected_failures_are_read_without_importing():
    from mpsbook.opcoverage import expected_failures

    assert expected_failures(COMMON_MPS) == {
        "take": None,
        "nn.functional.conv2d": ("int64",),
        "stft": ("float16", "bfloat16"),
    }
    assert expected_failures(COMMON_MPS, name="OTHER") == {"sort": ("int8",)}
    assert expected_failures(COMMON_MPS, name="MISSING") == {}


def test_the_installed_torch_ships_its_mps_test_expectations():
    from mpsbook.opcoverage import expected_failures

    failures = expected_failures()
    assert failures and all(v is None or isinstance(v, tuple) for v in failures.values())
