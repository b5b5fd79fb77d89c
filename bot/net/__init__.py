"""Network plumbing shared by every client the bot opens (platforms and feeds): proxies."""
