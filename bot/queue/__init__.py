"""The job queue: the embedded inbox (SQL + asyncio) or Redis Streams; one user's events never race."""
