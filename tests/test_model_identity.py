"""The model id means the model: it covers the files and the settings that change vectors, not the
descriptions and measurements (provenance.json); one model is shared safely between threads; and
towers take inputs in memory as well as files."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from core.model import Embedder, ModelError, Waveform
from core.paths import BUNDLED_MODEL_DIR
from tests.conftest import DEMO


def copy_of_model(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    for path in BUNDLED_MODEL_DIR.iterdir():
        (folder / path.name).symlink_to(path)  # the weights are shared, read-only
    for name in ("model.json", "provenance.json"):
        (folder / name).unlink()
        shutil.copy(BUNDLED_MODEL_DIR / name, folder / name)
    return folder


def edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_descriptions_and_measurements_leave_the_id_alone(tmp_path):
    folder = copy_of_model(tmp_path)
    bundled = Embedder(BUNDLED_MODEL_DIR, transcribe=False).model_id
    edit(folder / "provenance.json", lambda p: p["speech"].update(chosen_on="words someone else picked",
                                                                  table=[]))
    edit(folder / "provenance.json", lambda p: p.update(trained_run="another run"))
    assert Embedder(folder, transcribe=False).model_id == bundled


def test_a_functional_setting_or_a_weight_file_changes_the_id(tmp_path):
    bundled = Embedder(BUNDLED_MODEL_DIR, transcribe=False).model_id
    folder = copy_of_model(tmp_path)
    edit(folder / "model.json", lambda m: m["speech"].update(transcript_weight=8.0))
    assert Embedder(folder, transcribe=False).model_id != bundled
    folder = copy_of_model(tmp_path / "second")
    head = folder / "audio_head.onnx"
    head.unlink()
    shutil.copy(BUNDLED_MODEL_DIR / "image_head.onnx", head)  # other bytes under the same name
    digest = hashlib.sha256(head.read_bytes()).hexdigest()
    edit(folder / "model.json", lambda m: m["files_sha256"].update({"audio_head.onnx": digest}))
    assert Embedder(folder, transcribe=False).model_id != bundled


def test_prose_in_model_json_is_refused(tmp_path):
    folder = copy_of_model(tmp_path)
    edit(folder / "model.json", lambda m: m["speech"].update(chosen_on="a sentence"))
    with pytest.raises(ModelError, match="provenance.json"):
        Embedder(folder, transcribe=False)


def test_a_library_bound_to_an_earlier_id_of_the_same_model_is_not_re_embedded(tmp_path):
    from core.store import LibraryStore

    # The bundled model lists no earlier id today (its audio vectors changed with the UCS pivot,
    # issue 42), so a copy declares one; `same_vectors_as` is not part of the id.
    folder = copy_of_model(tmp_path)
    edit(folder / "model.json", lambda m: m.update(same_vectors_as=["trimodal-bind-lite-earlier000"]))
    embedder = Embedder(folder, transcribe=False)
    assert embedder.model_id == Embedder(BUNDLED_MODEL_DIR, transcribe=False).model_id
    with LibraryStore(tmp_path / "lib.db") as store:
        store.bind_channel("semantic", embedder.same_vectors_as[0], embedder.dim)
        item = store.record_scanned("/lib/a.md", "/lib", "text", 1, 1.0, "h")
        store.mark_done(item, {"semantic": embedder.embed_text(["a note"]).vectors[0]})
        assert store.bind_channel("semantic", embedder.model_id, embedder.dim, embedder.same_vectors_as) == 0
        assert store.channel("semantic").model_id == embedder.model_id
        assert store.item(item).status == "done" and len(store.vectors("semantic")[0]) == 1


def test_inputs_in_memory_embed_like_their_files(embedder):
    import soundfile

    photo = DEMO / "photos" / "coffee.jpg"
    from_file, in_memory = embedder.embed_image([photo, Image.open(photo)]).vectors
    assert float(from_file @ in_memory) > 0.9999
    sound = DEMO / "sounds" / "cow.ogg"
    samples, rate = soundfile.read(sound, dtype="float32", always_2d=True)
    recorded = embedder.embed_audio([sound, Waveform(samples, rate)])
    assert float(recorded.vectors[0] @ recorded.vectors[1]) > 0.9999
    assert recorded.errors == [None, None]


def test_one_model_serves_two_threads_at_once(embedder):
    """The index and search threads share one model (ONNX sessions and the Whisper transcriber)."""
    memo = DEMO / "memos" / "memo_01.wav"
    alone = embedder.embed_audio([memo])
    results: list = [None, None]

    def work(slot):
        results[slot] = embedder.embed_audio([memo])

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert result.transcripts == alone.transcripts
        np.testing.assert_allclose(result.vectors, alone.vectors, atol=1e-5)
