"""The Qt desktop app. Everything here talks to the engine through core.library.Library."""
