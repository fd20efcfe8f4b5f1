"""The app's background machinery: work each process does on its own, beside answering requests."""
