"""The "melody" task: the tune a recording carries, for hum-to-search (core.melody).

It runs after "embed" (a library is searchable by meaning first), decodes the recording in a
reader thread and tracks its pitch there too (pYIN is the costly part, about 50x real time a
core; bench/pitch.py), then records notes and the melody vector, or that there is no tune, on the
writer's thread.
"""

from __future__ import annotations

from core.index.pipeline import Task, register_task
from core.kinds import MELODY, kinds_with_channel
from core.melody import MELODY_DIM, Notes, melody_of, melody_vector
from core.melody.presence import has_melody
from core.model.audio import decode_file
from core.model.preprocess import UnreadableInput
from core.store import LibraryStore, MediaItem
from core.store.melodies import MELODY_TASK

# Changes whenever what a melody vector means changes (the channel is then rebuilt and every
# recording's melody job queued again).
MELODY_EXTRACTOR = f"melody-intervals-2-d{MELODY_DIM}"
LONGEST_SECONDS = 600.0  # a tune is looked for in a recording's first ten minutes
NO_TUNE = "no tune found (speech, noise or sound effects)"


class MelodyHandler:
    def __init__(self, store: LibraryStore, report):
        """`report`: the run's EmbedReport; a recording whose melody cannot be read is listed in
        its failures (it was embedded, so its bytes changed or vanished since)."""
        self.store, self.report = store, report

    def prepare(self, item: MediaItem) -> Notes | Exception:
        try:
            waveform = decode_file(item.path, max_seconds=LONGEST_SECONDS)
        except (UnreadableInput, OSError) as exc:
            return exc
        return melody_of(waveform.samples, waveform.rate)

    def finish(self, batch: list[tuple[MediaItem, object]]) -> None:
        with self.store.transaction():
            for item, prepared in batch:
                if not isinstance(prepared, Notes):
                    reason = f"melody: cannot read: {prepared}"
                    self.store.fail_melody(item.id, MELODY, reason)
                    self.report.failed.append((item.path, reason))
                    continue
                vector = melody_vector(prepared) if has_melody(prepared) else None
                if vector is None:
                    self.store.record_melody(item.id, MELODY, None, None, NO_TUNE)
                else:
                    self.store.record_melody(item.id, MELODY, prepared.rows(), vector)


def bind_melody_channel(store: LibraryStore) -> int:
    """Bind the melody channel to this extractor; when it was unbound or made by another one,
    queue a melody job for every recording already embedded. Returns how many were queued."""
    return store.bind_task_channel(MELODY, MELODY_EXTRACTOR, MELODY_DIM, MELODY_TASK, kinds_with_channel(MELODY))


register_task(Task(MELODY_TASK, lambda indexer, report: MelodyHandler(indexer.store, report),
                   applies_to=lambda kind: kind in kinds_with_channel(MELODY)))
