"""Shrinks an image from the Data API and stores the thumbnail in the algorithm's temp collection.

Input: {"image": "data://<user>/<collection>/<file>", "width": 128}
Output: {"thumbnail": "data://.algo/temp/<id>.png", "size": [w, h], "source_size": [w, h]}
"""

import io
import uuid

import Algorithmia
from PIL import Image

# One client for the worker's life, as the Python guide's load() advice has it: its HTTP session
# keeps its connections (and their TLS) from call to call. The cluster gives each call its key.
client = Algorithmia.client()


class AlgorithmError(Exception):
    pass


def apply(input):
    if not isinstance(input, dict) or not str(input.get("image", "")).startswith("data://"):
        raise AlgorithmError('Give {"image": "data://..."} naming an image in the Data API')
    width = int(input.get("width", 128))
    if not 1 <= width <= 4096:
        raise AlgorithmError("width must be between 1 and 4096")
    source = Image.open(io.BytesIO(client.file(input["image"]).getBytes()))
    source_size = list(source.size)
    thumbnail = source.convert("RGB")
    thumbnail.thumbnail((width, width))
    out = io.BytesIO()
    thumbnail.save(out, format="PNG")
    target = "data://.algo/temp/{}.png".format(uuid.uuid4().hex)
    client.file(target).put(out.getvalue())
    return {"thumbnail": target, "size": list(thumbnail.size), "source_size": source_size}
