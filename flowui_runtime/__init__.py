"""FlowUI runtime: runs registry operators inside Airflow and operator containers. Imports no Django."""
