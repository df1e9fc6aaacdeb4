"""The knowledge base: schemas, loading and checks (the data lives in data/)."""
