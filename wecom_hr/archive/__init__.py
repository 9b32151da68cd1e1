"""Chat archive (会话内容存档): pull, decrypt, store with a hash chain, search, watch-lists."""
