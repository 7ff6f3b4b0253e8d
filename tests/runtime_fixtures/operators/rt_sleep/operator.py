import importlib.util
import os
import subprocess
import sys
import time

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    if input_model.seconds > 0:
        # A child process too: a timeout must kill the whole process group, not only us.
        child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({input_model.seconds})"])
        with open("pids.txt", "w") as out:
            out.write(f"{os.getpid()} {child.pid}\n")
        print("sleeping", flush=True)
        time.sleep(input_model.seconds)
    return OutputModel(
        slept=input_model.seconds,
        secret_seen="RT_TOKEN" in os.environ,
        environment=sorted(os.environ),
        executable=sys.executable,
        platform_importable=importlib.util.find_spec("tenants") is not None,
    )
