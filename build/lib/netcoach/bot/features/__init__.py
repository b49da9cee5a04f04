"""The features, one folder each (Red-DiscordBot's one-folder-per-cog): every feature owns its
commands, its grammar, the repository of its tables, its rendering and, where it has due
items, its due source. Features import the kernel, storage, scheduling and timeparse, never
an adapter; only bot/app.py puts them together.
"""
