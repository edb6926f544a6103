"""The console's pages, one module per audience; each has `register(console, ui)`."""
