"""Everything PySide6: the viewer window and its widgets."""
