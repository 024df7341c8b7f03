"""Exporters of a session: Phy's template-gui folder (``phy``) and an NWB Units table (``nwb``)."""
