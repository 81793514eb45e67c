"""Chat commands and buttons: one module per concern, each ``async def handler(turn)``.

``bot/commands.py`` holds the table that registers them; ``context.py`` turns a PTB update
into a :class:`~handlers.context.Turn` (chat, settings, language, access check).
"""
