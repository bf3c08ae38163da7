"""The pipeline's entrypoint: runs the thumbnailer and the box drawer on one image in parallel.

It returns what both produced and how long each call took, so a benchmark sees the latency of
a fan-out across algorithms, the Data API and the cluster's workers in one number.

Input: {"image": "data://...", "width": 128, "boxes": [...]}
"""

import time
from concurrent.futures import ThreadPoolExecutor

import Algorithmia

# One client for the worker's life, as the Python guide's load() advice has it: its HTTP session
# keeps its connections (and their TLS) from call to call. The cluster gives each call its key.
client = Algorithmia.client()

# Written as templates: the testbench replaces ".my" with the owner of the destination cluster
# (and adds its name suffix), so these always call the copies deployed beside this algorithm.
THUMBNAILER = "algo://.my/ImageThumbnailer/latestPrivate"
BOX_DRAWER = "algo://.my/BoundingBoxDrawer/latestPrivate"


class AlgorithmError(Exception):
    pass


def _timed_call(client, algorithm, payload):
    started = time.time()
    result = client.algo(algorithm).pipe(payload).result
    return result, round(time.time() - started, 4)


def apply(input):
    if not isinstance(input, dict) or "image" not in input:
        raise AlgorithmError('Give {"image": "data://...", "width": 128, "boxes": [...]}')
    started = time.time()
    with ThreadPoolExecutor(max_workers=2) as pool:
        thumbnail = pool.submit(_timed_call, client, THUMBNAILER,
                                {"image": input["image"], "width": input.get("width", 128)})
        boxes = pool.submit(_timed_call, client, BOX_DRAWER,
                            {"image": input["image"], "boxes": input.get("boxes", [])})
        thumbnail_result, thumbnail_seconds = thumbnail.result()
        boxes_result, boxes_seconds = boxes.result()
    return {
        "thumbnail": thumbnail_result,
        "boxes": boxes_result,
        "timings": {"thumbnail_s": thumbnail_seconds, "boxes_s": boxes_seconds,
                    "total_s": round(time.time() - started, 4)},
    }
