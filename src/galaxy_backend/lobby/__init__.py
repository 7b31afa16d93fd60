"""The lobby: games, applications, race names and the start of a game."""
