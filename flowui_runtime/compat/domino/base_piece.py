"""`domino.base_piece.BasePiece` as Domino pieces use it, on FlowUI's runtime (written for FlowUI, not Domino's code).

What a piece may use: `self.results_path` (the task's run folder: files written there are results and flow
downstream when an output field named `*_path`/`*_file` holds their path), `self.display_result` (a dict
{"file_type": "txt"|"json"|"png"|..., "base64_content": ..., "file_path": ...} shown with the results),
`self.logger` (a logging.Logger writing to the task log), `self.secrets` (the SecretsModel instance, or a dict)
and `self.piece_name`. Airflow/Kubernetes specifics of Domino (XCom, shared storage sidecars) do not exist here.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any


class BasePiece:
    def __init__(self, *, results_path: str | None = None, secrets: Any = None) -> None:
        self.piece_name = type(self).__name__
        self.results_path = str(results_path or os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
        self.display_result: dict | None = None
        self.secrets = secrets
        self.logger = logging.getLogger(f"domino.{self.piece_name}")
        if not self.logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            self.logger.addHandler(handler)
            self.logger.setLevel(logging.INFO)
            self.logger.propagate = False

    def piece_function(self, input_data: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self.piece_name} does not define piece_function(self, input_data)")
