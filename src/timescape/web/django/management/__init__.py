"""Django management commands of the Timescape app."""
