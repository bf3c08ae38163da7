"""Draws labelled boxes on an image from the Data API; the result goes to the temp collection.

Input: {"image": "data://...", "boxes": [{"box": [x0, y0, x1, y1], "label": "tree"}, ...]}
Output: {"output": "data://.algo/temp/<id>.png", "boxes_drawn": n}
"""

import io
import uuid

import Algorithmia
from PIL import Image, ImageDraw

# One client for the worker's life, as the Python guide's load() advice has it: its HTTP session
# keeps its connections (and their TLS) from call to call. The cluster gives each call its key.
client = Algorithmia.client()


class AlgorithmError(Exception):
    pass


def _boxes(raw):
    if not isinstance(raw, list) or not raw:
        raise AlgorithmError('Give "boxes" as a non-empty list of {"box": [x0, y0, x1, y1], "label": "..."}')
    for index, item in enumerate(raw):
        box = item.get("box") if isinstance(item, dict) else None
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise AlgorithmError("boxes[{}].box must be four numbers [x0, y0, x1, y1]".format(index))
        yield box, str(item.get("label", ""))


def apply(input):
    if not isinstance(input, dict) or not str(input.get("image", "")).startswith("data://"):
        raise AlgorithmError('Give {"image": "data://...", "boxes": [...]}')
    boxes = list(_boxes(input.get("boxes")))
    image = Image.open(io.BytesIO(client.file(input["image"]).getBytes())).convert("RGB")
    draw = ImageDraw.Draw(image)
    for box, label in boxes:
        draw.rectangle(box, outline=(255, 0, 0), width=3)
        if label:
            draw.text((box[0] + 4, box[1] + 4), label, fill=(255, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    target = "data://.algo/temp/{}.png".format(uuid.uuid4().hex)
    client.file(target).put(out.getvalue())
    return {"output": target, "boxes_drawn": len(boxes)}
