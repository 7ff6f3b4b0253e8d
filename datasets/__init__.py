"""A tenant's datasets: the files under `dataset/` of its storage root (portal page /data/, API /api/datasets/)."""
