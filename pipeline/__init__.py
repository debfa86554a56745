"""Pure pipeline steps (normalise, dedupe, warehouse, export). Nothing here knows about Prefect."""
