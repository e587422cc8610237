"""The project file: reading and validating it, its cache, its SQL step files."""
