-- Airflow keeps its metadata in its own database on the same server as the platform.
CREATE DATABASE airflow OWNER flowui;
