import Foundation
import Synchronization

/// Store operation latencies of one node in fixed logarithmic buckets (four per doubling, from
/// 1 µs to about 17 s), for the status page's p50/p99: a few atomics per operation, no lock, no
/// allocation, whatever metrics backend the program has (or none).
///
/// Percentiles come from the difference of two snapshots, so a page shows the last interval, not
/// the whole uptime. A percentile is the upper bound of its bucket: within 19 % of the truth.
final class LatencyHistogram: Sendable {
    /// Buckets per doubling.
    static let perOctave = 4
    /// 24 doublings above 1 µs.
    static let bucketCount = 24 * perOctave + 1
    /// One atomic per bucket (an array cannot hold atomics themselves).
    private final class Bucket: Sendable {
        let count = Atomic<Int>(0)
    }

    private let buckets: [Bucket]

    init() {
        buckets = (0..<Self.bucketCount).map { _ in Bucket() }
    }

    /// Records one operation that took `nanoseconds`.
    @inline(__always)
    func record(nanoseconds: Int) {
        buckets[Self.bucket(nanoseconds)].count.add(1, ordering: .relaxed)
    }

    /// The bucket of a duration: 0 below 1 µs, then four per doubling, the last one open-ended.
    static func bucket(_ nanoseconds: Int) -> Int {
        let micros = Double(max(nanoseconds, 0)) / 1000
        guard micros >= 1 else { return 0 }
        let index = Int((log2(micros) * Double(perOctave)).rounded(.down)) + 1
        return min(index, bucketCount - 1)
    }

    /// The upper bound of a bucket, in seconds.
    static func upperBound(_ bucket: Int) -> Double {
        guard bucket > 0 else { return 1e-6 }
        return 1e-6 * exp2(Double(bucket) / Double(perOctave))
    }

    /// The counts now.
    var snapshot: [Int] { buckets.map { $0.count.load(ordering: .relaxed) } }

    /// The `quantile` (0…1) of the operations between two snapshots, in seconds; `nil` when none.
    static func quantile(_ quantile: Double, of counts: [Int], since earlier: [Int]? = nil) -> Double? {
        let delta = earlier.map { earlier in zip(counts, earlier).map { $0 - $1 } } ?? counts
        let total = delta.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = Int((quantile * Double(total)).rounded(.up))
        var seen = 0
        for (bucket, count) in delta.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return upperBound(bucket) }
        }
        return upperBound(delta.count - 1)
    }
}

/// A store node's operation latencies at one moment (``SessionManager/NodeState/latency``);
/// two of them give the percentiles of the operations in between.
public struct LatencySnapshot: Sendable, Equatable {
    let buckets: [Int]

    /// Number of operations recorded.
    public var count: Int { buckets.reduce(0, +) }

    /// The `quantile` (0…1) of the operations recorded after `earlier` (all of them when `nil`),
    /// as the upper bound of its bucket (within 19 % above the true value); `nil` when there
    /// were none.
    public func quantile(_ quantile: Double, since earlier: LatencySnapshot? = nil) -> Duration? {
        LatencyHistogram.quantile(quantile, of: buckets, since: earlier?.buckets).map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
    }
}
