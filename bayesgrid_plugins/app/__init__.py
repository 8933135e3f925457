"""The application layer: the CLI, the main job, the seed-style facade, hosting capacity,
unbalancing, scale-out, validation and reports.

It builds on the core (:mod:`bayesgrid_plugins`) and asks the plugin manager for engines,
readers and exporters by name; it never imports an adapter (``pandapower_ext``, ``opendss_ext``,
``pgm_ext``) or an engine library. See ``docs/architecture.md``.
"""
