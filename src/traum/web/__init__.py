"""The web face: a REST API and one page to search, audition and sort the library in a browser."""
