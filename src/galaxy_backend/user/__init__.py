"""Players: accounts, profile, country, entitlements, blocks, deletion."""
