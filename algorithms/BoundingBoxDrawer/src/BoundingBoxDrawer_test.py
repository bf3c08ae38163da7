import pytest

from . import BoundingBoxDrawer


def test_rejects_malformed_boxes():
    with pytest.raises(BoundingBoxDrawer.AlgorithmError):
        list(BoundingBoxDrawer._boxes([{"box": [1, 2, 3]}]))
