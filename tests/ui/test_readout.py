"""Readouts that change every frame played repaint themselves, not the window's layout."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QWidget

from usannotate.ui.readout import ReadoutLabel


class LayoutRequests(QObject):
    """Counts the layout requests ``watched`` receives."""

    def __init__(self, watched: QWidget) -> None:
        super().__init__()
        self.count = 0
        watched.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def layout_requests_while_counting(qtbot, label: QLabel) -> int:
    bar = QWidget()
    row = QHBoxLayout(bar)
    row.addWidget(QLabel("Speed"))
    row.addWidget(label)
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    QApplication.processEvents()
    requests = LayoutRequests(bar)
    for frame in range(1, 40):
        label.setText(f"Frame {frame} / 600   {frame * 33.3:7.1f} ms")
        QApplication.processEvents()
    return requests.count


def test_a_readout_changing_text_asks_for_no_layout(qtbot):
    # A plain label asks its parent for a new layout on each text (the cost avoided).
    assert layout_requests_while_counting(qtbot, QLabel()) > 0
    assert (
        layout_requests_while_counting(qtbot, ReadoutLabel("Frame 0000 / 0000   00000.0 ms")) == 0
    )


def test_a_readout_fits_its_sample_and_widens_for_a_longer_text(qtbot):
    label = ReadoutLabel("Frame 0000/0000")
    qtbot.addWidget(label)
    metrics = label.fontMetrics()
    assert label.width() >= metrics.horizontalAdvance("Frame 0000/0000")
    long_text = "Frame 12/600 · 400.0 ms · 3 missing, and a good deal more besides"
    label.setText(long_text)
    assert label.width() >= metrics.horizontalAdvance(long_text)
    assert label.minimumWidth() == label.maximumWidth()  # still fixed
    label.setText("Frame 1/600")
    assert label.width() >= metrics.horizontalAdvance(long_text)  # it does not shrink back
    assert label.text() == "Frame 1/600"
