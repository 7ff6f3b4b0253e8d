import importlib.util
import os
import subprocess
import sys
import time

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    if input_model.seconds > 0:
        # A child process too: a timeout must kill the whole process group, not only us.
        # The run folder in its argv lets the test find it from the host (pids here are the sandbox's own).
        marker = f"# {os.environ.get('FLOWUI_RUN_DIR', '')}"
        child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({input_model.seconds}) {marker}"])
        with open("marker.txt", "w") as out:
            out.write(marker + "\n")
        with open("pids.txt", "w") as out:
            out.write(f"{os.getpid()} {child.pid}\n")
        print("sleeping", flush=True)
        time.sleep(input_model.seconds)
    return OutputModel(
        slept=input_model.seconds,
        secret_seen="RT_TOKEN" in os.environ,
        environment=sorted(os.environ),
        executable=sys.executable,
        venv_marker=os.path.exists(os.path.join(sys.prefix, "rt-test-venv")),
        platform_importable=importlib.util.find_spec("tenants") is not None,
    )
