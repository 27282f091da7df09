"""One module per ecosystem. A cataloger declares which paths it wants and parses them.

Catalogers never see layers or tarballs: the layer walker hands them the bytes of the
files they asked for (paths are relative to the image root, without a leading slash).
"""
