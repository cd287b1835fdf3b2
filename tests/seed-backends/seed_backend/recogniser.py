"""An emulated Google streaming recogniser: the point where audio is accepted.

The seed backend streams audio to Vertex AI / Google streaming recognition. Google
refuses audio sent faster than real time ("Audio data is being streamed too fast")
and ends a stream that gets no audio for about 10 s ("Audio Timeout Error"). Both
are reproduced here because they are what makes a client's catch-up after a
reconnect dangerous. There is no real recognition: every second of accepted audio
yields a partial transcript and every third second a final one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .config import BYTES_PER_SECOND
from .storage import AudioStore

REASON_TOO_FAST = (
    "Audio data is being streamed too fast. Please stream audio data approximately at real time."
)
REASON_AUDIO_TIMEOUT = (
    "Audio Timeout Error: Long duration elapsed without audio. "
    "Audio should be sent close to real time."
)


class TooFast(Exception):
    """The chunk would put the stream further ahead of real time than allowed."""

    def __init__(self, refused_bytes: int, accepted_bytes: int) -> None:
        super().__init__(REASON_TOO_FAST)
        self.refused_bytes = refused_bytes
        self.accepted_bytes = accepted_bytes


@dataclass
class Transcript:
    text: str
    is_final: bool
    confidence: float = 0.9

    def message(self, shape: str = "seed") -> dict[str, Any]:
        """The transcript as JSON in one of the shapes real backends use."""
        if shape == "camel":
            return {"transcript": self.text, "isFinal": self.is_final}
        if shape == "typed":
            return {"type": "final" if self.is_final else "partial", "text": self.text}
        if shape == "google":
            return {
                "results": [
                    {
                        "alternatives": [{"transcript": self.text, "confidence": self.confidence}],
                        "isFinal": self.is_final,
                    }
                ]
            }
        if shape == "unknown":
            return {"kind": "asr", "payload": {"words": self.text, "done": self.is_final}}
        return {
            "type": "transcript",
            "text": self.text,
            "is_final": self.is_final,
            "confidence": self.confidence,
        }


class StreamingRecogniser:
    """One recognition stream per authenticated connection.

    Real-time rule: a chunk is accepted only while
    ``accepted_seconds_after <= elapsed_wall * time_scale + max_ahead``.
    Accepted bytes are stored immediately, in order; refused ones never are.
    """

    def __init__(self, store: AudioStore, time_scale: float, max_ahead: float) -> None:
        self._store = store
        self._time_scale = time_scale
        self._max_ahead = max_ahead
        self._started = time.monotonic()
        self.accepted_bytes = 0

    def allowance_seconds(self) -> float:
        """Audio seconds the stream may have accepted by now."""
        elapsed = time.monotonic() - self._started
        return elapsed * self._time_scale + self._max_ahead

    def accept(self, chunk: bytes) -> list[Transcript]:
        """Accept and store ``chunk`` and return the transcripts it completes, or raise TooFast."""
        after = self.accepted_bytes + len(chunk)
        if after / BYTES_PER_SECOND > self.allowance_seconds():
            raise TooFast(len(chunk), self.accepted_bytes)
        self._store.append(chunk)
        before_s = self.accepted_bytes // BYTES_PER_SECOND
        after_s = after // BYTES_PER_SECOND
        self.accepted_bytes = after
        out: list[Transcript] = []
        for second in range(before_s + 1, after_s + 1):
            if second % 3 == 0:
                out.append(Transcript(f"heard {second:.1f} seconds", is_final=True))
            else:
                out.append(Transcript(f"hearing {second:.1f} seconds", is_final=False))
        return out
