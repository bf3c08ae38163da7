import Algorithmia


def apply(input):
    # Not part of any test workflow: the lookup warns that it must already exist.
    return Algorithmia.client().algo("algo://.my/Elsewhere/1.0.0").pipe(input).result
