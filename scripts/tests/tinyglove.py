"""A tiny stand-in for data/glove (vocab.txt + vectors.f32, 4-d) that the
prep_*.py tests embed their hand-made entries with: word i points mostly
along axis i % 4, so texts with different words get different vectors."""
import struct

import pytest


def write(folder, words):
    """Writes folder/vocab.txt and folder/vectors.f32 for `words`; returns folder."""
    folder.mkdir(exist_ok=True)
    (folder / "vocab.txt").write_text("".join(w + "\n" for w in words))
    with open(folder / "vectors.f32", "wb") as f:
        for i in range(len(words)):
            f.write(struct.pack("<4f", *[1.0 if j == i % 4 else 0.1 * (i + 1) for j in range(4)]))
    return folder


@pytest.fixture
def glove(tmp_path, request):
    """pytest fixture: a tiny GloVe folder with the test module's WORDS (a
    test module imports it: `from tinyglove import glove`)"""
    return write(tmp_path / "glove", request.module.WORDS)
