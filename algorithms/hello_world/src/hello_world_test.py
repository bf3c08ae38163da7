from . import hello_world


def test_hello_world():
    assert hello_world.apply("Algorithmia") == "hello Algorithmia"
