"""Exporters: write an ensemble to files. Each is registered through the plugin hooks."""

from .base import Exporter, ExportRequest

__all__ = ["ExportRequest", "Exporter"]
