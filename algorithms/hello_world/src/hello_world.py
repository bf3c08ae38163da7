def apply(input):
    """Greets whatever it is given: the smallest algorithm a cluster can build and run."""
    return "hello {}".format(input)
