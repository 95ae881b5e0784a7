import logging
import sys
import warnings

import pytest

from mpsbook.coreml import (
    IMPORT_NOISE,
    LOGGER_NAME,
    PROGRESS_BAR,
    conversion_messages,
    ops_of,
    quiet_coremltools_import,
)

NOISE = [
    "Torch version 2.14.1+cu130 has not been tested with coremltools. You may run into unexpected errors. "
    "Torch 2.7.0 is the most recent version that has been tested.",
    "scikit-learn version 1.9.1 is not supported. Minimum required version: 0.17. Maximum required version: 1.5.1. "
    "Disabling scikit-learn conversion API.",
    "Failed to load _MLModelProxy: No module named 'coremltools.libcoremlpython'",
    "Failed to load _MLNeuralEngineComputeDeviceProxy: No module named 'coremltools.libcoremlpython'",
]


def test_import_filter_drops_only_the_known_notices(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    logger = logging.getLogger(LOGGER_NAME)
    with quiet_coremltools_import():
        for message in NOISE:
            logger.warning(message)
        logger.warning("TensorFlow version 2.0.0 is not supported. Minimum required version: 2.1.0 .")
        logger.warning("When both 'convert_to' and 'minimum_deployment_target' not specified, ...")
        logger.warning("Failed to load _MLModelProxy: dlopen failed")  # a real failure on a Mac must stay visible
    logger.warning("Torch version 9.9 has not been tested with coremltools.")  # the filter is gone after the block
    err = "\n".join(record.getMessage() for record in caplog.records)
    assert "Disabling scikit-learn" not in err and "libcoremlpython" not in err
    assert "Torch version 2.14.1" not in err and "TensorFlow version" not in err
    assert "When both 'convert_to'" in err
    assert "dlopen failed" in err
    assert "Torch version 9.9" in err
    assert len(IMPORT_NOISE) == 3


def test_import_filter_drops_the_notebook_progress_bar_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_coremltools_import():
            warnings.warn("IProgress not found. Please update jupyter and ipywidgets. See ...", stacklevel=1)
            warnings.warn("a warning that must stay", stacklevel=1)
    assert [str(w.message) for w in caught] == ["a warning that must stay"]


def test_progress_bar_pattern():
    assert PROGRESS_BAR.match("Converting PyTorch Frontend ==> MIL Ops:   0%|          | 0/1 [00:00<?, ? ops/s]")
    assert PROGRESS_BAR.match("Running MIL default pipeline: 100%|##########| 95/95 [00:00<00:00, 1116.21 passes/s]")
    assert PROGRESS_BAR.match("Running MIL frontend_milinternal pipeline: 0 passes [00:00, ? passes/s]")
    assert PROGRESS_BAR.match("Running compression pass linear_quantize_weights: 100%|##| 2/2 [00:00<00:00]")
    assert not PROGRESS_BAR.match("Running out of memory: 100%")


def test_conversion_messages_collects_text_and_drops_progress_bars(capsys):
    with conversion_messages() as said:
        logging.getLogger(LOGGER_NAME).warning("use minimum_deployment_target")
        warnings.warn("Output, '5', of the source model, has been renamed to 'var_5'.", stacklevel=1)
        sys.stderr.write("\rRunning MIL default pipeline:   0%|  | 0/95\rRunning MIL default pipeline: 100%|#| 95/95\n")
        sys.stderr.write("something else on stderr\n")
    assert capsys.readouterr().err == ""
    assert said == [
        "warning: use minimum_deployment_target",
        "UserWarning: Output, '5', of the source model, has been renamed to 'var_5'.",
        "something else on stderr",
    ]
    assert logging.getLogger(LOGGER_NAME).propagate  # restored


def test_ops_of_a_converted_linear_layer():
    ct = pytest.importorskip("coremltools")
    import numpy as np
    import torch

    model = torch.nn.Linear(8, 2).eval()
    program = torch.export.export(model, (torch.randn(1, 8),)).run_decompositions({})
    with conversion_messages():
        mlmodel = ct.convert(
            program,
            inputs=[ct.TensorType(name="x", shape=(1, 8), dtype=np.float32)],
            outputs=[ct.TensorType(name="y", dtype=np.float32)],
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.macOS14,
        )
    ops = ops_of(mlmodel.get_spec())
    assert "linear" in ops and ops.count("cast") == 2  # fp32 in, fp16 inside, fp32 out
    with pytest.raises(KeyError, match="no function 'other'"):
        ops_of(mlmodel.get_spec(), "other")


def test_torch_internal_warnings_are_dropped_and_others_kept():
    import warnings

    from mpsbook.coreml import conversion_messages

    with conversion_messages() as said:
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
        warnings.warn("something else changed", FutureWarning, stacklevel=1)
    assert said == ["FutureWarning: something else changed"]


def test_only_the_known_syntax_warning_is_dropped_at_import():
    import warnings

    from mpsbook.coreml import quiet_coremltools_import

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_coremltools_import():
            warnings.warn_explicit("invalid escape sequence '\\_'", SyntaxWarning, "fake_palettize.py", 30)
            warnings.warn_explicit("invalid escape sequence '\\d'", SyntaxWarning, "other.py", 1)
    assert [str(w.message) for w in caught] == ["invalid escape sequence '\\d'"]


def test_import_filter_drops_the_coreai_torch_version_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_coremltools_import():
            warnings.warn(
                "coreai-torch has only been validated with torch<=2.13.0; found torch 2.14.1+cu130. Some ...",
                UserWarning,
                stacklevel=1,
            )
            warnings.warn("coreai-torch: something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["coreai-torch: something else"]


def test_conversion_messages_collects_rich_output_and_native_stderr(capfd):
    import os

    rich = pytest.importorskip("rich")
    before = rich.get_console()
    with conversion_messages() as said:
        rich.get_console().print("[bold cyan]coreai-torch[/] 0.4.3: converting 1 program(s) to Core AI")
        os.write(2, b"ODIE [default]: Loading function 'main'\n")  # what the Core AI runtime writes, natively
    assert said == ["coreai-torch 0.4.3: converting 1 program(s) to Core AI", "ODIE [default]: Loading function 'main'"]
    assert capfd.readouterr().err == ""
    assert rich.get_console() is before  # the global console is restored
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # and so is file descriptor 2


def test_weights_as_state_dict_returns_what_the_compressed_model_computes_with():
    ct = pytest.importorskip("coremltools")
    import coremltools.optimize as cto
    import numpy as np
    import torch

    from mpsbook.coreml import weights_as_state_dict

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 64, 3), torch.nn.Flatten(), torch.nn.Linear(64 * 36, 10)).eval()
    program = torch.export.export(model, (torch.randn(1, 1, 8, 8),)).run_decompositions({})
    with conversion_messages():
        mlmodel = ct.convert(
            program,
            inputs=[ct.TensorType(name="x", shape=(1, 1, 8, 8), dtype=np.float32)],
            minimum_deployment_target=ct.target.macOS15,
        )
        config = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpPalettizerConfig(mode="kmeans", nbits=2))
        palettized = cto.coreml.palettize_weights(mlmodel, config)
    reference = model.state_dict()
    plain, two_bit = weights_as_state_dict(mlmodel, reference), weights_as_state_dict(palettized, reference)
    assert list(plain) == list(reference) and all(v.dtype == torch.float32 for v in plain.values())
    assert torch.allclose(plain["2.weight"], reference["2.weight"], atol=1e-3)  # float16 copies of the weights
    assert two_bit["2.weight"].unique().numel() <= 4  # a 2-bit palette: at most four distinct values
    assert two_bit["0.weight"].unique().numel() > 4  # 576 weights: under the 2,048 threshold, left alone
    with pytest.raises(KeyError, match="expected one weight named like p_missing_weight"):
        weights_as_state_dict(mlmodel, {"missing.weight": reference["2.weight"]})
