"""Placeholder until the torch-free registry lands: the names of the registered networks."""


def model_names() -> list[str]:
    from .weights import records

    return list(records())
