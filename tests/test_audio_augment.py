"""training.audio_augment: real-recording views are reproducible and keep the clip in them."""
import numpy as np
import pytest

pytest.importorskip("scipy")

from training import audio_augment as A  # noqa: E402


def test_views_are_seeded_and_contain_the_clip():
    rng = np.random.default_rng(1)
    clip = np.sin(np.linspace(0, 400, A.RATE)).astype(np.float32)
    others = [rng.normal(size=A.RATE // 2).astype(np.float32)]
    ambience = [rng.normal(size=A.RATE * 3).astype(np.float32)]
    for copy in range(8):
        one = A.augment(clip, A._rng("/x.ogg", 0, copy), others, ambience)
        two = A.augment(clip, A._rng("/x.ogg", 0, copy), others, ambience)
        assert np.array_equal(one, two)
        assert one.dtype == np.float32 and len(one) >= len(clip) and len(one) <= 8 * A.RATE + 1
        assert np.isfinite(one).all()
    assert not np.array_equal(A.augment(clip, A._rng("/x.ogg", 0, 0), others, ambience),
                              A.augment(clip, A._rng("/x.ogg", 1, 0), others, ambience))


@pytest.mark.parametrize("kind", ["lowpass", "pink", "brown"])
def test_noise_kinds(kind):
    x = A.noise(kind, 4096, np.random.default_rng(0))
    assert x.shape == (4096,) and np.isfinite(x).all() and x.std() > 0
