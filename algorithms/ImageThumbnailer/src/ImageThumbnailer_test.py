import pytest

from . import ImageThumbnailer


def test_rejects_input_without_a_data_uri():
    with pytest.raises(ImageThumbnailer.AlgorithmError):
        ImageThumbnailer.apply({"image": "https://example.com/x.png"})
