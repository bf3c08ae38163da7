import Algorithmia

ALPHA = "algo://.my/Alpha/latestPrivate"


def apply(input):
    return Algorithmia.client().algo(ALPHA).pipe(input).result
