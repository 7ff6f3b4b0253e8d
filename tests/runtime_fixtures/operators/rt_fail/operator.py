from model import InputModel


def helper_that_raises(message: str) -> None:
    raise ValueError(f"rt_fail says {message}")


def operator_function(input_model: InputModel):
    helper_that_raises(input_model.message)
