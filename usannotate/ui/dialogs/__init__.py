"""Dialogs of the main window: preferences, keyboard help, about, calibration."""
