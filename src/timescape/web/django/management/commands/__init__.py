"""``manage.py timescape``."""
