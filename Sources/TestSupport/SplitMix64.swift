/// Tests use the project's seeded generator, so that every run sees the same inputs.
@_exported import struct Cell.SplitMix64
