"""Generated bad-input corpus (see make_corpus.py); nothing here is committed data."""
