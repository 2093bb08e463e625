"""Storage kept in memory: the same behaviour as :mod:`storage.sql`, for tests.

It is the shipped test double of the storage seam (see ``bot.testing``): the
assistant, its routes and its flows can be exercised without any database.
"""
