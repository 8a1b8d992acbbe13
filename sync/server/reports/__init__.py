"""Reports made from the clinic's records for people outside it (DEA)."""
