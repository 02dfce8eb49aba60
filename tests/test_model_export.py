"""Re-export the ConSE baseline and check it against torch, sentence-transformers and the
committed resources/baseline files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from training import export_baseline as eb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "resources" / "baseline"
COCO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco-mini"
N_IMAGES = 3


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    eb.export(out, timings=False, card=False, log=lambda *_: None)
    return out


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    dev = COCO / "dev.jsonl"
    if not dev.exists():
        pytest.skip(f"no test photos at {COCO}")
    paths = []
    for line in dev.read_text(encoding="utf-8").splitlines():
        p = COCO / json.loads(line)["image"]
        if p.exists():
            paths.append(p)
        if len(paths) == N_IMAGES:
            break
    if len(paths) < N_IMAGES:
        pytest.skip("coco-mini photos missing")
    return np.stack([eb.image_tower(COMMITTED).preprocess(p) for p in paths])


def test_preprocess_contract(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (400, 300), (255, 0, 0))
    img.putpixel((0, 0), (0, 0, 0))  # lies outside the centre crop
    path = tmp_path / "red.png"
    img.save(path)
    x = eb.image_tower(COMMITTED).preprocess(path)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], 1.0)
    np.testing.assert_allclose(x[1:], -1.0)


def test_image_trunk_matches_torch(exported, photos):
    from training.efficientnet_lite import load_pretrained

    model = load_pretrained()
    with torch.no_grad():
        t_feat, t_logits = (t.numpy() for t in model(torch.from_numpy(photos)))
    sess = ort.InferenceSession(str(exported / "image_trunk.onnx"), providers=["CPUExecutionProvider"])
    o_feat, o_logits = sess.run(["features", "logits"], {"pixels": photos})
    assert o_feat.shape == (N_IMAGES, 1280) and o_logits.shape == (N_IMAGES, 1000)
    assert cosine(o_logits, t_logits).min() >= 0.999
    assert cosine(o_feat, t_feat).min() >= 0.999
    assert (o_logits.argmax(1) == t_logits.argmax(1)).all()


def test_text_trunk_matches_sentence_transformers(exported, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    sentences = ["a dog catching a frisbee in the park",
                 "A plate of spaghetti with tomato sauce.",
                 "a photo of a Egyptian cat",
                 "Two men ride bicycles down a rainy city street at night."]
    ref = st.SentenceTransformer(str(eb.source_text_model_dir()), device="cpu").encode(sentences)
    got = eb.text_tower(exported).encode(sentences)
    assert got.shape == (len(sentences), eb.DIM)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert cosine(got, ref).min() >= 0.99


def _class_table(head_path: Path) -> np.ndarray:
    model = onnx.load(str(head_path))
    tables = [onnx.numpy_helper.to_array(t) for t in model.graph.initializer
              if list(t.dims) == [1000, eb.DIM]]
    assert len(tables) == 1
    return tables[0]


def test_head_is_conse_over_runtime_text_embeddings(exported):
    table = _class_table(exported / "image_head.onnx")
    prompts = [eb.PROMPT.format(n) for n in eb.class_names(exported / eb.CLASSES_TSV)]
    sample = list(range(0, 1000, 97))
    text = eb.text_tower(exported).encode([prompts[i] for i in sample])
    assert cosine(table[sample], text).min() >= 0.99999

    logits = np.random.default_rng(0).normal(0, 3, (4, 1000)).astype(np.float32)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    want = []
    for p in probs:
        top = np.argsort(-p)[:eb.TOP_K]
        v = (p[top, None] * table[top]).sum(0)
        want.append(v / np.linalg.norm(v))
    sess = ort.InferenceSession(str(exported / "image_head.onnx"), providers=["CPUExecutionProvider"])
    feeds = {"logits": logits, "features": np.zeros((4, 1280), np.float32)}
    got = sess.run(["embedding"], {i.name: feeds[i.name] for i in sess.get_inputs()})[0]
    assert cosine(got, np.array(want)).min() >= 0.9999


def test_reexport_matches_committed(exported, photos):
    for name in ("image_trunk.onnx", "image_head.onnx", "text_trunk.onnx", "tokenizer.json"):
        assert (COMMITTED / name).exists(), name
    e_fresh = eb.image_tower(exported).embed_pixels(photos)
    e_comm = eb.image_tower(COMMITTED).embed_pixels(photos)
    assert e_fresh.shape == (N_IMAGES, eb.DIM)
    assert cosine(e_fresh, e_comm).min() >= 0.999


def test_committed_model_json_hashes():
    meta = json.loads((COMMITTED / "model.json").read_text(encoding="utf-8"))
    assert meta["name"] == "conse-baseline" and meta["dim"] == eb.DIM
    assert set(meta["files_sha256"]) == set(eb.FILES)
    for name, digest in meta["files_sha256"].items():
        assert eb.sha256(COMMITTED / name) == digest, name
    total = sum(p.stat().st_size for p in COMMITTED.iterdir() if p.is_file())
    assert total <= 80 * 1024 * 1024
