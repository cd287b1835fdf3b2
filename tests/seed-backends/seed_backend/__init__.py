"""Independent re-creations of the clinic's seed transcription backend.

Written only from the seed documents (a FastAPI service with a JWT-authenticated
transcription WebSocket at ``/api/v1/ws/transcribe``) so that the desktop client can be
tested against servers its own authors did not write. Two WebSocket architectures are
provided (``one_loop`` and ``pipeline``); everything else (auth, storage, events, the
emulated Google streaming recogniser) is shared.
"""

__all__ = ["__version__"]
__version__ = "1.0.0"
