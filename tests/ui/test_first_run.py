"""The first start (welcome), the user guide, the window's layout kept, desktop hand-over."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from tests.ui.paths import SAMPLE_A
from usannotate.sidecar import sidecar_path_for
from usannotate.ui import help_menu
from usannotate.ui.dialogs.guide import UserGuideDialog
from usannotate.ui.dialogs.preferences import Preferences
from usannotate.ui.dialogs.welcome import WelcomeChoice, WelcomeDialog, welcome_due
from usannotate.ui.layout import restore_layout


def _answer_welcome(qtbot, name: str, button: str) -> None:
    """When the welcome comes up: type ``name`` and press ``button`` (its attribute)."""

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, WelcomeDialog):
            QTimer.singleShot(20, answer)
            return
        dialog.annotator.clear()
        qtbot.keyClicks(dialog.annotator, name)
        qtbot.mouseClick(getattr(dialog, button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)


def test_the_first_start_welcomes_sets_the_rater_and_opens_the_sample(window, qtbot):
    QSettings().remove("preferences")  # a machine that never ran usannotate
    assert welcome_due()
    _answer_welcome(qtbot, "A. Sonographer", "sample_button")
    assert help_menu.welcome_if_first_start(window) is WelcomeChoice.OPEN_SAMPLE
    assert window.loop is not None
    assert window.loop.path.endswith("hydrodissection_linear_a.dcm")
    prefs = Preferences.load()
    assert prefs.annotator == "A. Sonographer"
    assert prefs.annotator_asked  # the first save does not ask again
    # Never again unless asked for.
    assert not welcome_due()
    assert help_menu.welcome_if_first_start(window) is None


def test_closing_the_welcome_keeps_the_name_and_opens_nothing(window, qtbot):
    QSettings().remove("preferences")
    _answer_welcome(qtbot, "JS", "close_button")
    assert help_menu.show_welcome(window) is WelcomeChoice.CLOSE
    assert window.loop is None
    assert Preferences.load().annotator == "JS"


def test_a_broken_label_set_is_refused_in_the_welcome(qtbot, tmp_path):
    broken = tmp_path / "labels.json"
    broken.write_text("{ not a label set", encoding="utf-8")
    dialog = WelcomeDialog(Preferences())
    qtbot.addWidget(dialog)
    assert not dialog.set_label_set_path(str(broken))
    assert dialog.label_set.text() == ""
    assert "Not a usable label set" in dialog.problem.text()


def test_the_user_guide_is_the_installed_text_and_the_window_shortcuts(window, qtbot):
    dialog = UserGuideDialog(help_menu.shortcut_rows(window), window)
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    for heading in ("Marking", "Keyframes, interpolation and tracking", "Saving and recovery"):
        assert heading in text
    assert "De-identification" in text
    assert "Play / Pause" in text
    assert "Space" in text
    help_titles = [a.text() for a in window.menuBar().actions()[-1].menu().actions()]
    assert "&User Guide" in help_titles
    assert "&Welcome…" in help_titles


def test_the_window_layout_comes_back_as_it_was_closed(qtbot, dialogs):
    from usannotate.ui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.resize(780, 560)  # within the offscreen screen (800x600)
    first.tracks.curves_dock.hide()
    first.loop_dock.show()
    QApplication.processEvents()
    size = (first.width(), first.height())
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.tracks.curves_dock.isVisibleTo(second)  # the built-in layout first
    assert restore_layout(second)
    second.show()
    qtbot.waitExposed(second)
    assert not second.tracks.curves_dock.isVisibleTo(second)
    assert second.loop_dock.isVisibleTo(second)
    assert (second.width(), second.height()) == size
    second.close()


def test_a_layout_of_another_version_is_not_restored(qtbot, dialogs):
    from usannotate.ui import layout
    from usannotate.ui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.tracks.curves_dock.hide()
    layout.save_layout(first)
    QSettings().setValue("window/state", first.saveState(layout.LAYOUT_VERSION + 1))
    second = MainWindow()
    qtbot.addWidget(second)
    assert not restore_layout(second)
    assert second.tracks.curves_dock.isVisibleTo(second)


def test_opening_a_sidecar_opens_its_loop(window, tmp_path):
    loop = tmp_path / "case 7.dcm"
    shutil.copy(SAMPLE_A, loop)
    sidecar = sidecar_path_for(loop)
    sidecar.write_text("{}", encoding="utf-8")  # opened by name; its content is the loop's
    assert help_menu.loop_for_sidecar(sidecar) == loop
    assert help_menu.loop_for_sidecar(tmp_path / "other.usannotate.json") is None
    # A rater's own file, and the adjudicated one, of a multi-rater project.
    assert help_menu.loop_for_sidecar(tmp_path / "case 7.AS.usannotate.json") == loop
    assert help_menu.loop_for_sidecar(tmp_path / "case 7.adjudicated.usannotate.json") == loop
    assert window.open_path(str(sidecar))
    assert window.loop is not None
    assert window.loop.path == str(loop)
