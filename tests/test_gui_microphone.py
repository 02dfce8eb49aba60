"""The microphone button: without a sound card it is disabled and says why; with an input stream
(here one that plays a real recording, fed block by block from its own thread as PortAudio's
callback would be) it shows a live level, stops on Stop and searches by the recording."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import soundfile  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
import soxr  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.recorder import HUM_NOT_YET, input_device_problem  # noqa: E402
from app.workers import CAN_HUM  # noqa: E402
from tests.test_gui import index_and_wait, shown_paths  # noqa: E402


class WavInputStream:
    """sounddevice.InputStream's shape: made with samplerate/channels/dtype/callback; start() starts
    calling back from another thread with (frames, channels) float32 blocks; stop() and close()."""

    def __init__(self, wav_path, samplerate, channels, dtype, callback, blocksize: int = 1600):
        audio, rate = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        if rate != samplerate:
            mono = soxr.resample(mono, rate, samplerate).astype(np.float32)
        self.audio = mono.reshape(-1, channels)
        self.callback, self.blocksize = callback, blocksize
        self.fed = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def _feed(self) -> None:
        for start in range(0, len(self.audio), self.blocksize):
            if self._stopped.is_set():
                return
            block = self.audio[start:start + self.blocksize]
            self.callback(block, len(block), None, None)
            time.sleep(0.01)  # faster than real time, but in many blocks as a device would
        self.fed.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)

    def close(self) -> None:
        pass


def window_fed_by(wav, qtbot, tmp_path, embedder):
    """A shown window whose microphone hears `wav`; the streams it opened, to look at afterwards."""
    streams = []

    def open_stream(**kwargs):
        streams.append(WavInputStream(wav, **kwargs))
        return streams[-1]

    window = MainWindow(str(tmp_path / "gui.db"), embedder, watch=False, input_stream=open_stream,
                        input_problem=None)
    qtbot.addWidget(window)
    window.show()
    return window, streams


def test_without_a_sound_card_the_microphone_is_disabled_and_says_why(qtbot, tmp_path, embedder):
    problem = input_device_problem()
    window = MainWindow(str(tmp_path / "gui.db"), embedder, watch=False)
    qtbot.addWidget(window)
    if problem is None:
        pytest.skip("this machine has a microphone; the no-device path is covered where there is none")
    assert not window.microphone.button.isEnabled()
    assert window.microphone.button.toolTip() == problem and "no microphone" in problem
    assert window.microphone.hum_mode.isEnabled() == CAN_HUM
    assert CAN_HUM or window.microphone.hum_mode.toolTip() == HUM_NOT_YET
    window.close()


def test_a_recording_from_the_input_stream_searches_by_it(qtbot, tmp_path, embedder, demo_copy):
    wav = tmp_path / "meow.wav"  # a real recorded cat, as WAV (the demo keeps it as Ogg)
    audio, rate = soundfile.read(str(demo_copy / "sounds" / "cat.ogg"), dtype="float32")
    soundfile.write(str(wav), audio, rate)
    window, streams = window_fed_by(wav, qtbot, tmp_path, embedder)
    index_and_wait(window, qtbot, demo_copy)
    mic = window.microphone
    assert mic.button.isEnabled() and not mic.stop_button.isVisible()

    qtbot.mouseClick(mic.button, Qt.MouseButton.LeftButton)
    assert mic.recorder.recording and mic.stop_button.isVisible() and mic.meter.isVisible()
    qtbot.waitUntil(lambda: mic.meter.value() > 0, timeout=5_000)  # the live level
    qtbot.waitUntil(streams[0].fed.is_set, timeout=20_000)
    window.message.setText("")
    mic.stop_button.click()
    assert not mic.recorder.recording and not mic.stop_button.isVisible()
    assert "your recording" in window.query_label.text()
    qtbot.waitUntil(lambda: window.message.text() not in ("", "Searching…"), timeout=30_000)
    recordings = [hit.item.path for hit in window.model.hits if hit.item.kind == "audio"]
    assert recordings[0] == str(demo_copy / "sounds" / "cat.ogg")  # the same meow, recorded again
    cats = {"cat.ogg", "kitten.png", "chelsea_the_cat.jpg", "our_cat.md", "memo_03.wav"}
    assert shown_paths(window)[0].rsplit("/", 1)[-1] in cats  # across kinds too: the meow finds a cat
    window.close()


def test_a_stream_that_cannot_open_is_said_not_raised(qtbot, tmp_path, embedder):
    def broken(**_kwargs):
        raise RuntimeError("Device unavailable")

    window = MainWindow(str(tmp_path / "gui.db"), embedder, watch=False, input_stream=broken, input_problem=None)
    qtbot.addWidget(window)
    window.microphone.button.click()
    assert "Device unavailable" in window.message.text()
    assert not window.microphone.button.isHidden() and not window.microphone.recorder.recording
    window.close()


@pytest.mark.skipif(not CAN_HUM, reason="the door cannot search by a hummed tune yet")
def test_humming_a_tune_finds_its_recording(qtbot, tmp_path, embedder):
    from tests.test_hum_search import TUNES, hummed_query, write_tune

    music = tmp_path / "music"
    music.mkdir()
    for seed, name in enumerate(("ode.wav", "twinkle.wav", "frere.wav")):
        write_tune(music / name, TUNES[name], seed=seed)
    hummed = tmp_path / "hummed.wav"  # a stretch of the tune, another key, slower, a note wrong, in noise
    hummed_query(hummed, TUNES["ode.wav"])
    window, streams = window_fed_by(hummed, qtbot, tmp_path, embedder)
    index_and_wait(window, qtbot, music)
    mic = window.microphone
    assert mic.hum_mode.isEnabled()
    mic.hum_mode.trigger()
    assert mic.mode == "hum a tune" and mic.button.text() == "Hum"
    mic.button.click()
    qtbot.waitUntil(streams[0].fed.is_set, timeout=20_000)
    window.message.setText("")
    mic.stop_button.click()
    assert "tune you hummed" in window.query_label.text()
    qtbot.waitUntil(lambda: window.message.text() not in ("", "Searching…"), timeout=30_000)
    assert shown_paths(window)[0] == str(music / "ode.wav"), window.message.text()
    window.show_preview(window.model.hits[0])
    assert "its tune" in window.preview.why.text() and "starts at 0:0" in window.preview.why.text()
    window.close()
