"""The app's background machinery: work each server process runs beside the requests it answers."""
