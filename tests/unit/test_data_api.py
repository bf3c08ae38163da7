"""The Data API resource's pure parts: paths from data URIs, and the one rule for whose key this is."""

from __future__ import annotations

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DATA_ROOT, data_path, key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import InvalidResponse
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import UriError


class ListingClient:
    """Answers the Data API root listing with ``listing``; records what was asked."""

    cluster = "https://api.example.com"

    def __init__(self, listing):
        self.listing = listing
        self.asked = []

    def get_json(self, template, *args, **kwargs):
        self.asked.append((template, args, kwargs))
        return self.listing


def test_the_key_owner_is_the_first_folder_of_the_data_root():
    client = ListingClient({"folders": [{"name": "quality"}, {"name": "an_org"}], "files": []})
    assert key_owner(client) == "quality"
    (template, args, kwargs), = client.asked
    assert (template, args) == (DATA_ROOT, ())
    assert kwargs["action"] == "find the user of api_key (list data://)"


@pytest.mark.parametrize("listing", [None, {}, {"folders": []}, {"folders": [{"name": ""}]}, {"folders": ["x"]}, []])
def test_no_user_folder_is_an_invalid_answer_that_says_what_to_set(listing):
    with pytest.raises(InvalidResponse, match="set owner explicitly"):
        key_owner(ListingClient(listing))


def test_the_refused_key_is_named_by_the_option_that_holds_it():
    client = ListingClient({"folders": [{"name": "quality"}]})
    key_owner(client, "source")
    key_owner(client, "destination")
    source, destination = (kwargs for _template, _args, kwargs in client.asked)
    assert source["action"] == "find the user of the source key (list data://)"
    assert "check source_api_key (or SOURCE_API_KEY)" in source["hints"][401]
    assert "check api_key (or ALGORITHMIA_API_KEY)" in destination["hints"][401]


def test_data_paths_are_encoded_segment_by_segment():
    assert data_path("data://.my/my coll/a+b.png") == "/v1/connector/data/.my/my%20coll/a%2Bb.png"
    assert data_path("s3+test://bucket/x y") == "/v1/connector/s3%2Btest/bucket/x%20y"
    for bad in ("data://", "data://.my/../other/f", "data://.my//f"):
        with pytest.raises(UriError):
            data_path(bad)
