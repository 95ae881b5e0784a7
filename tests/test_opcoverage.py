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

- func: max(Tensor self) -> Tensor
  dispatch:
    CPU, CUDA: max
    MPS: max_mps

- func: max.unary_out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)
  dispatch:
    CPU, CUDA: max_unary_out

- func: take_(Tensor(a!) self, Tensor index) -> Tensor(a!)
  dispatch:
    CPU, CUDA: take_
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
    assert counts == {"CPU": 7, "CUDA": 7, "MPS": 4, "composite": 2, "total": 10}
    assert [op.name for op in missing_for(ops)] == ["take", "take_"]
    assert [op.name for op in missing_for(ops, covered_variants=True)] == ["max.unary_out", "take", "take_"]
    assert ops["only_sparse"].keys == {"SparseCPU"} and not ops["only_sparse"].composite


def test_out_and_in_place_overloads_know_their_functional_form(ops):
    assert ops["max.unary_out"].kind == "out" and ops["take_"].kind == "inplace" and ops["max"].kind == "functional"
    assert ops["max.unary_out"].variant_covered("MPS")  # torch.max(x) runs on MPS; only out= is missing
    assert not ops["take_"].variant_covered("MPS")  # take has no MPS kernel either
    assert not ops["max"].variant_covered("MPS")  # a functional overload is never "covered"
    assert ops["mm.out"].functional_keys >= {"CPU", "CUDA", "MPS"}


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
    assert category(ops["max.unary_out"]) == "out=/in-place only"
    assert category(ops["take_"]) == "CPU and CUDA only"
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
        UNDEFINED_XFAILLIST = {"take": [torch.int8], "stft": [torch.float32], "addr": [torch.bool]}
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


def test_expected_failures_are_merged_across_lists():
    from mpsbook.opcoverage import all_expected_failures

    merged = all_expected_failures(COMMON_MPS)
    assert merged["take"] is None  # every dtype wins over a list of dtypes
    assert merged["stft"] == ("float16", "bfloat16", "float32")
    assert merged["addr"] == ("bool",)
    assert "sort" not in merged  # OTHER is not one of the xfail lists


def test_keys_split_into_operator_and_variant():
    from mpsbook.opcoverage import split_variant, torch_name_exists

    known = {"scatter_reduce", "nn.functional.interpolate", "round", "sum"}.__contains__
    assert split_variant("scatter_reduceprod", known) == ("scatter_reduce", "prod")
    assert split_variant("nn.functional.interpolatearea", known) == ("nn.functional.interpolate", "area")
    assert split_variant("sum", known) == ("sum", "")
    assert split_variant("unknown_op", known) == ("unknown_op", "")
    assert torch_name_exists("nn.functional.conv2d") and torch_name_exists("double")  # a Tensor method
    assert torch_name_exists("max_pool2d_with_indices_backward")  # an ATen operator
    assert not torch_name_exists("scatter_reduceprod") and not torch_name_exists("nn.functional.interpolatearea")
    assert split_variant("rounddecimals_0") == ("round", "decimals_0")


def test_splits_that_name_no_operator_are_refused():
    from mpsbook.opcoverage import split_variant

    known = {"nn.functional", "segment_reduce", "segment_reduce_", "mat"}.__contains__
    assert split_variant("nn.functional.norm", known) == ("nn.functional.norm", "")  # not nn.functional + ".norm"
    assert split_variant("segment_reduce_offsets", known) == ("segment_reduce_offsets", "")  # no "_offsets"
    assert split_variant("segment_reduce_", known) == ("segment_reduce_", "")
    assert split_variant("matrix", known) == ("mat", "rix")  # a plain prefix is still a split


CONDITIONAL = """
UNIMPLEMENTED_XFAILLIST = {
    "take": None,
    "scatter_reduceamax": [torch.int32, torch.int64] if MACOS_VERSION < 15.0 else [torch.int64],
}
"""


def test_conditional_entries_are_set_apart():
    from mpsbook.opcoverage import all_expected_failures, conditional_expected_failures

    assert all_expected_failures(CONDITIONAL) == {"take": None}  # not "every dtype" for the conditional one
    assert conditional_expected_failures(CONDITIONAL) == {
        "scatter_reduceamax": "[int32, int64] if MACOS_VERSION < 15.0 else [int64]"
    }
    assert conditional_expected_failures(COMMON_MPS) == {}


TWINS = """
- func: pool3d.out(Tensor self, SymInt[3] output_size, *, Tensor(a!) out) -> Tensor(a!)
  python_module: nn
  dispatch:
    CPU: pool3d_out_cpu
    CUDA: pool3d_out_cuda

- func: pool3d(Tensor self, SymInt[3] output_size) -> Tensor
  python_module: nn
  dispatch:
    CompositeImplicitAutograd: pool3d_symint

- func: _pool3d(Tensor self, SymInt[3] output_size) -> Tensor
  dispatch:
    CPU: pool3d_cpu
    CUDA: pool3d_cuda

- func: split3(Tensor self) -> (Tensor a, Tensor b)
  dispatch:
    CompositeExplicitAutograd: split3

- func: split3.out(Tensor self, *, Tensor(a!) a, Tensor(b!) b) -> (Tensor(a!) a, Tensor(b!) b)
  dispatch:
    CPU, CUDA: split3_out

- func: _pool3d_other(Tensor self, SymInt[3] output_size) -> Tensor
  dispatch:
    CPU, CUDA: other
"""


def test_a_composite_is_labelled_with_the_private_operator_it_calls():
    from mpsbook.opcoverage import private_twin

    ops = operators(load_entries(TWINS))
    assert ops["pool3d.out"].signature == "pool3d(Tensor self, SymInt[3] output_size) -> Tensor"
    assert private_twin(ops, ops["pool3d.out"]).name == "_pool3d"  # not its own missing out= form
    assert private_twin(ops, ops["pool3d"]).name == "_pool3d"
    assert private_twin(ops, ops["split3.out"]) is None  # no twin: the composite calls its out= form
    assert private_twin(ops, ops["_pool3d"]) is None  # not composite itself
    with_mps = operators(load_entries(TWINS.replace("CUDA: pool3d_cuda", "CUDA: pool3d_cuda\n    MPS: pool3d_mps")))
    assert private_twin(with_mps, with_mps["pool3d.out"]) is None  # the twin runs on MPS: nothing is missing


def test_the_installed_torch_labels_adaptive_avg_pool3d_by_its_private_callee():
    from mpsbook.opcoverage import private_twin

    ops = operators(load_entries())
    assert private_twin(ops, ops["adaptive_avg_pool3d.out"]).name == "_adaptive_avg_pool3d"
    assert private_twin(ops, ops["linalg_eigvals.out"]).name == "_linalg_eigvals"
    for name in ("frexp.Tensor_out", "logspace.out", "sspaddmm.out"):  # these composites call their out= form
        assert private_twin(ops, ops[name]) is None
