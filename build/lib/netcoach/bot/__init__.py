"""netcoach's core: everything but the chat platforms (see README, "Where everything lives")."""
