"""The pure core: value types and functions over them. No I/O, no frameworks."""
