"""Socket.IO: the server factory, one namespace per audience, and the publisher."""
