"""`fieldapp review`: the prescriber's and supervisor's console."""
