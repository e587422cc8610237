"""Pure model: definitions, the schema DAG, state snapshots and plans. No I/O, stdlib only."""
