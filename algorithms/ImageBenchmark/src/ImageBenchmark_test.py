import pytest

from . import ImageBenchmark


def test_rejects_input_without_an_image():
    with pytest.raises(ImageBenchmark.AlgorithmError):
        ImageBenchmark.apply({"width": 10})
