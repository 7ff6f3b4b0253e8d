from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    with open("data.csv", "w") as out:
        out.write("n\n")
        for n in range(1, input_model.rows + 1):
            out.write(f"{n}\n")
    print(f"load: wrote {input_model.rows} rows")
    return OutputModel(data_file="data.csv", row_count=input_model.rows)
