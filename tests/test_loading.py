import pytest
import torch
from torch.utils.data import DataLoader

from mpsbook.loading import EncodedImages, _decode, load_bbc_news


def test_decodes_to_float_images_with_labels():
    images = torch.rand(6, 1, 8, 8)
    ds = EncodedImages(images, torch.arange(6), stored_size=16, out_size=8)
    x, y = ds[3]
    assert len(ds) == 6 and x.shape == (1, 8, 8) and x.dtype == torch.float32 and y.item() == 3
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert (x - images[3]).abs().mean() < 0.1  # PNG is lossless; only the two resizes blur it


def test_works_with_a_worker_process():
    ds = EncodedImages(torch.rand(8, 1, 8, 8), torch.arange(8), stored_size=16, out_size=8)
    batches = list(DataLoader(ds, batch_size=4, num_workers=1))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 8, 8), (4, 1, 8, 8)]


@pytest.mark.parametrize(
    "images, labels",
    [
        (torch.rand(4, 8, 8), torch.arange(4)),
        (torch.rand(4, 3, 8, 8), torch.arange(4)),
        (torch.rand(4, 1, 8, 8), torch.arange(3)),
    ],
)
def test_bad_shapes_are_refused(images, labels):
    with pytest.raises(ValueError):
        EncodedImages(images, labels)


def test_bbc_news_is_read_whole_and_in_a_stable_order():
    texts, labels, names = load_bbc_news()
    assert names == ["business", "entertainment", "politics", "sports", "tech"]
    assert len(texts) == len(labels) == 2127  # 2,225 files, 98 of them second copies of an article
    assert len(set(texts)) == len(texts)
    assert set(labels) == set(range(len(names)))
    assert labels == sorted(labels)  # read folder by folder, in sorted order
    assert texts[0].startswith("Ad sales boost Time Warner profit\n\n")


def test_bbc_news_decodes_the_windows_1252_file():
    texts, labels, names = load_bbc_news()
    mutu = [i for i, t in enumerate(texts) if t.startswith("Chelsea sack Mutu")]
    assert len(mutu) == 1 and "£15.8m" in texts[mutu[0]] and names[labels[mutu[0]]] == "sports"


def test_decode_falls_back_to_windows_1252():
    assert _decode("£5".encode()) == "£5" and _decode(b"\xa35") == "£5"
