"""Network plumbing shared by every client the bot opens (platforms, feeds, the database): proxies, URLs."""
