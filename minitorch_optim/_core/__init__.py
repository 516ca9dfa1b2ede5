"""Private step machinery (not API): the elementwise driver, the op vocabulary, multi-tensor storage,
hooks, the line search and the SWA/EMA flat helpers. Import from the public modules instead."""
