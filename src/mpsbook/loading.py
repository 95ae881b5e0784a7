"""A dataset that decodes images on every access, for measuring ``DataLoader`` workers.

A ``TensorDataset`` already in memory costs almost nothing per item, so worker processes only add overhead.
A dataset read from image files pays for decoding on every access, which workers can spread over CPU cores.
:class:`EncodedImages` stands in for a folder of PNG files: it keeps each image PNG-encoded in memory and
decodes and resizes it in ``__getitem__``.

It lives in the package, not in a notebook, for a reason that matters on a Mac: there ``DataLoader`` workers
start with the ``spawn`` method, which re-imports the dataset's class by name in each worker. A class defined
in a notebook's ``__main__`` cannot be re-imported, and the workers fail.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = ["EncodedImages"]


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
