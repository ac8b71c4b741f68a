"""Content as data (reply texts, hotlines, and later programmes and intent phrases), validated at start-up."""
