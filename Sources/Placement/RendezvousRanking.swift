import Foundation

/// One contender's score for one cell.
struct RankedContender {
    var score: Double
    var index: Int
}

/// The contenders of one rendezvous (members of a zone, or zones): parallel arrays.
struct RendezvousContenders {
    let hashes: [UInt64]
    let weights: [Double]
    let idBytes: [[UInt8]]

    /// Whether `lhs` ranks above `rhs`: higher score first, then lower id bytewise.
    @inline(__always)
    func ranksAbove(_ lhs: RankedContender, _ rhs: RankedContender) -> Bool {
        if lhs.score != rhs.score { return lhs.score > rhs.score }
        return idBytes[lhs.index].lexicographicallyPrecedes(idBytes[rhs.index])
    }

    /// The best `count` contenders of `range` for the cell, best first.
    ///
    /// When every contender of the range has the same weight (`uniformWeight`), a
    /// contender whose `u` is below `exp(-weight / worstKeptScore)` cannot enter
    /// the top and is skipped without computing its logarithm. The bound carries
    /// a 1e-9 margin so that rounding can only let extra contenders through to the
    /// exact comparison, never keep one out: the result equals the spec's.
    func top(
        _ range: Range<Int>, count: Int, cellHash: UInt64, uniformWeight: Double?
    ) -> [RankedContender] {
        var kept: [RankedContender] = []
        kept.reserveCapacity(count + 1)
        var skipBelow = 0.0
        for index in range {
            let pair = PlacementHash.pairHash(hashes[index], cellHash: cellHash)
            if kept.count == count, uniformWeight != nil, PlacementHash.unitInterval(pair) < skipBelow {
                continue
            }
            let contender = RankedContender(score: PlacementHash.score(weight: weights[index], pairHash: pair), index: index)
            if kept.count == count {
                guard ranksAbove(contender, kept[count - 1]) else { continue }
                kept.removeLast()
            }
            var position = kept.count
            while position > 0 && ranksAbove(contender, kept[position - 1]) { position -= 1 }
            kept.insert(contender, at: position)
            if kept.count == count, let weight = uniformWeight {
                skipBelow = exp(-weight / kept[count - 1].score) * (1 - 1e-9)
            }
        }
        return kept
    }
}
