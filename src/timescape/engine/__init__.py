"""What the facade owns: executor, recovery, verification, reports, the in-memory view."""
