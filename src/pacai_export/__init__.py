"""PacAI Export Worker: BullMQ jobs in, Godot 4 / Unity 6 / Unreal 5 project bundles out."""

__version__ = "0.6.0"
EXPORTER_NAME = "pacai-export"
