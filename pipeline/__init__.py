"""Quarterly e-government report pipeline of the Trà Vinh Department of Information and Communications."""

import pyarrow

# pandas keeps text in Arrow arrays. Arrow's default allocator (mimalloc) keeps freed pages for reuse,
# which at 10x the province's data raised the ingest's peak memory by a quarter (bench/: make bench);
# the system allocator gives them back.
pyarrow.set_memory_pool(pyarrow.system_memory_pool())
