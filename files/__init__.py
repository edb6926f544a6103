"""Files for the municipalities' other systems (issue 25): formats and their delivery."""
