"""FlowUI's stand-in for Domino's `domino` package, on sys.path only while a Domino piece runs or is inspected
(flowui_runtime.domino_compat puts `flowui_runtime/compat` first on the path). Never installed on its own."""
