"""Task data: registry packages -> a normalised local task store, plus the held-out benchmarks."""
