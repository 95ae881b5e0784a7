import pytest
import torch

from mpsbook.digits import DigitsCNN, digits_split


def test_split_shapes_dtypes_and_ranges():
    split = digits_split()
    assert split.x_train.shape[1:] == (1, 8, 8) and split.x_train.dtype == torch.float32
    assert split.y_train.dtype == torch.int64
    assert len(split.x_train) + len(split.x_val) == 1797
    assert len(split.x_val) == 360  # 20 %, rounded up by scikit-learn
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0
    assert set(split.y_val.tolist()) == set(range(10)), "stratified: every class in validation"


def test_split_is_reproducible_and_seeded():
    a, b, c = digits_split(seed=0), digits_split(seed=0), digits_split(seed=1)
    assert torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.y_val, c.y_val)


def test_datasets_pair_images_with_labels():
    train, val = digits_split().datasets()
    x, y = val[0]
    assert x.shape == (1, 8, 8) and y.ndim == 0
    assert len(train) == 1437


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_fraction_is_refused(fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        digits_split(val_fraction=fraction)


def test_model_outputs_logits_and_learns():
    torch.manual_seed(0)
    split = digits_split()
    model = DigitsCNN(channels=8)
    assert model(split.x_val[:4]).shape == (4, 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):  # a few full-batch steps on a slice are enough to fit it
        loss = torch.nn.functional.cross_entropy(model(split.x_train[:256]), split.y_train[:256])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5


def test_model_rejects_bad_width():
    with pytest.raises(ValueError, match="positive integer"):
        DigitsCNN(channels=0)


def test_digits_model_is_seeded_and_placed():
    from mpsbook.digits import digits_model

    (a, opt_a), (b, _), (c, _) = digits_model("cpu", seed=0), digits_model("cpu", seed=0), digits_model("cpu", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))
    assert next(a.parameters()).device.type == "cpu"
    assert opt_a.param_groups[0]["lr"] == 1e-2 and isinstance(opt_a, torch.optim.Adam)
    with pytest.raises(ValueError, match="positive"):
        digits_model("cpu", lr=0)
