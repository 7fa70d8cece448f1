"""All of ebmlab's data: the only place that loads, downloads or generates data sets.

* :mod:`~ebmlab.data.ellipse` — the lecture's ellipse (:func:`make_ellipse`);
* :mod:`~ebmlab.data.toys` — 2-D toy densities (:data:`TOYS`, :func:`sample_toy`);
* :mod:`~ebmlab.data.images` — scikit-learn's sample photographs (:func:`sample_images`,
  :func:`image_patches`) and their preprocessing (:func:`local_contrast_normalize`);
* :mod:`~ebmlab.data.mnist` — MNIST and Fashion-MNIST from IDX files (:func:`load_mnist`, :func:`load_idx`);
* :mod:`~ebmlab.data.arrays` — a data matrix by name or ``.npy``/``.csv`` path (:func:`load_data`);
* :mod:`~ebmlab.data.binarize` — binarised MNIST (:func:`binarize_static`, :func:`binarize_dynamic`);
* :mod:`~ebmlab.data.words` — rendered word images for transcription (:func:`words`,
  :func:`characters`, :func:`collate_words`, :func:`read_word_image`).

**Data root.** Files that do not ship with a library (MNIST, Fashion-MNIST) are looked for under one
folder, resolved by :func:`data_home` in this order:

1. the ``root`` argument (the CLI's ``--data-root DIR``);
2. the environment variable ``EBMLAB_DATA``;
3. ``~/.cache/ebmlab``.

Inside it, MNIST's files are looked for in ``ROOT/mnist/`` and then ``ROOT/`` (likewise
``fashion-mnist``). Nothing is downloaded unless asked for (``download=True``, CLI ``--download``);
downloads are md5-checked and written atomically into ``ROOT/NAME/``. A missing file raises
``FileNotFoundError`` saying where it looked; a damaged or unreadable one raises
:class:`DataFileError` naming it.

Example:
    >>> from ebmlab.data import data_home, load_data
    >>> data_home("/data/ebm").as_posix()
    '/data/ebm'
    >>> load_data("blobs", n_samples=10).data.shape
    (10, 2)
"""

from ._files import DataFileError, data_home
from .arrays import DATA_NAMES, ArrayDataset, load_data
from .binarize import BINARIZATIONS, binarize_dynamic, binarize_static
from .ellipse import EllipseData, ellipse_radius, make_ellipse
from .images import SAMPLE_IMAGES, image_patches, local_contrast_normalize, sample_images
from .mnist import MNIST_NAMES, load_idx, load_mnist
from .toys import TOYS, sample_toy, toy_limits
from .words import (
    LETTERS,
    WordBatch,
    WordImages,
    characters,
    collate_words,
    decode_word,
    encode_word,
    read_word_image,
    render_word,
    words,
)

__all__ = [
    "BINARIZATIONS",
    "DATA_NAMES",
    "LETTERS",
    "MNIST_NAMES",
    "SAMPLE_IMAGES",
    "TOYS",
    "ArrayDataset",
    "WordBatch",
    "WordImages",
    "DataFileError",
    "binarize_dynamic",
    "binarize_static",
    "characters",
    "collate_words",
    "decode_word",
    "EllipseData",
    "data_home",
    "ellipse_radius",
    "encode_word",
    "image_patches",
    "load_data",
    "load_idx",
    "load_mnist",
    "local_contrast_normalize",
    "make_ellipse",
    "read_word_image",
    "render_word",
    "sample_images",
    "sample_toy",
    "toy_limits",
    "words",
]
