import hashlib
import os

from model import InputModel, OutputModel


def operator_function(input_model: InputModel, secrets) -> OutputModel:
    value = secrets.RT_API_KEY
    # Printed on purpose: the runtime must mask it in the task log and in log.txt.
    print(f"rt_secret: using key {value} for {input_model.note}", flush=True)
    print(f"rt_secret: key again <{value}>", flush=True)
    if input_model.note == "raise":
        # In the traceback (log.txt, through the runtime's mask) and in the task's failure, which Airflow logs
        # itself (through its secrets masker, where the runtime registered the value).
        raise ValueError(f"rt_secret rejects key {value}")
    return OutputModel(
        digest=hashlib.sha256(value.encode()).hexdigest(),
        length=len(value),
        in_environment=os.environ.get("RT_API_KEY") == value,
    )
