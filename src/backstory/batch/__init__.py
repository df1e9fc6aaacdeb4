"""Batch mode: score many assessments at once, identically to the single-assessment engine.

The knowledge's conditions are compiled to Polars expressions (``compile``, ``pipeline``),
rows are checked against the contract column by column (``validate``), and files are read
and written chunk by chunk so memory stays bounded (``run``). ``dask_engine`` runs the
same chunks on a Dask cluster; ``synth`` writes synthetic cohorts.
"""
