"""What the facade owns: the parts that run plans, recover from crashes and report."""
