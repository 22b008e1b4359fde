import Foundation
import Keyspace

/// The hashes and the score of weighted rendezvous placement. This file is the
/// spec (README "Placement" restates it for other languages):
///
///     memberHash = XXH64(UTF-8 bytes of member id, seed 0)
///     zoneHash   = XXH64(UTF-8 bytes of zone name, seed 1)
///     cellHash   = XXH64(CellID.placementBytes, seed 0)   // 1 byte depth, 8 bytes prefix big-endian
///     pairHash   = fmix64(memberHash XOR cellHash)         // or zoneHash XOR cellHash
///     u          = (Double(pairHash >> 11) + 0.5) / 2^53   // uniform in (0, 1), never 0 or 1
///     score      = weight / -ln(u)
///
/// Higher score wins; equal scores are ordered by id (bytewise), ascending.
/// The per-member and per-cell hashes are computed once, so each (member, cell)
/// pair costs one XOR, one fmix64 and one logarithm.
public enum PlacementHash {
    public static func memberHash(idBytes: [UInt8]) -> UInt64 { XXH64.hash(idBytes, seed: 0) }
    public static func zoneHash(_ nameBytes: [UInt8]) -> UInt64 { XXH64.hash(nameBytes, seed: 1) }
    public static func cellHash(_ cell: CellID) -> UInt64 { XXH64.hash(cell.placementBytes, seed: 0) }

    @inline(__always)
    public static func pairHash(_ keyHash: UInt64, cellHash: UInt64) -> UInt64 {
        XXH64.fmix64(keyHash ^ cellHash)
    }

    @inline(__always)
    public static func unitInterval(_ pairHash: UInt64) -> Double {
        (Double(pairHash >> 11) + 0.5) * 0x1p-53
    }

    @inline(__always)
    public static func score(weight: Double, pairHash: UInt64) -> Double {
        weight / -log(unitInterval(pairHash))
    }
}
