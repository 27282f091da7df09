"""sbom: what is inside an image, from its layers, without unpacking anything to disk.

``layers`` streams each layer (gzip, zstd, plain) through a tar reader and keeps only the
files catalogers ask for, plus file facts, in a content-addressed cache per layer digest
and analyser version. ``merge`` lays the layers over each other in order, honouring
whiteouts. ``catalogers`` turn the kept files into packages, one module per ecosystem.
"""
