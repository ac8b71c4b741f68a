"""One module per capability. A handler takes a Turn and returns an Outcome; it never touches HTTP or LINE."""
