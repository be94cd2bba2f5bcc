"""Pure domain logic: no aiohttp, socketio or SQLAlchemy imports here."""
