"""Presentational widgets: they get plain data through attributes and post messages up."""
