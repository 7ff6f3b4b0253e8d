import os

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    assert os.path.isabs(input_model.data_file), input_model.data_file
    with open(input_model.data_file) as source:
        numbers = [int(line) for line in source.read().split()[1:]]
    scaled = [n * input_model.factor for n in numbers]
    with open("scaled.csv", "w") as out:
        out.write("n\n" + "".join(f"{n}\n" for n in scaled))
    print(f"transform: read {input_model.data_file}, total {sum(scaled)}")
    return OutputModel(total=sum(scaled), scaled_file=os.path.join(os.environ["FLOWUI_RUN_DIR"], "scaled.csv"))
