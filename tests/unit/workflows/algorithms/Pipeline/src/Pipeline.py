import Algorithmia


def apply(input):
    client = Algorithmia.client()
    first = client.algo(".my/Alpha/latestPrivate").pipe(input).result
    return client.algo("algo://.my/Beta/latestPrivate").pipe(first).result
