"""usannotate's data files, installed as the package ``usannotate.resources``.

The default label sets (``labels/``), the sidecar JSON Schema and its documentation
(``sidecar.schema.json``, ``SIDECAR.md``). Read them with :mod:`importlib.resources`
(``files("usannotate.resources") / "sidecar.schema.json"``), never by a path relative to
the source tree: an installed usannotate has no source tree.
"""
