@testable import SessionManager
import SessionTesting
import Testing

/// The pure parts of the operability work, without sockets: the latency histogram of the status
/// page and the cache of unknown ids.
@Suite(.capturedLog) struct OperabilityUnitTests {
    static func snapshot(_ nanoseconds: [Int]) -> LatencySnapshot {
        let histogram = LatencyHistogram()
        for value in nanoseconds { histogram.record(nanoseconds: value) }
        return LatencySnapshot(buckets: histogram.snapshot)
    }

    @Test func latencyQuantilesAreBucketUpperBoundsOfTheInterval() throws {
        let early = Self.snapshot(Array(repeating: 100_000, count: 99) + [10_000_000])
        let later = Self.snapshot(Array(repeating: 100_000, count: 99) + [10_000_000] + Array(repeating: 2_000_000, count: 100))
        let p50 = try #require(early.quantile(0.5))
        #expect(p50 >= .microseconds(100) && p50 < .microseconds(120))
        let p995 = try #require(early.quantile(0.995))
        #expect(p995 >= .milliseconds(10) && p995 < .microseconds(12_000))
        // Only the 100 operations recorded after `early`: all 2 ms.
        let interval = try #require(later.quantile(0.5, since: early))
        #expect(interval >= .milliseconds(2) && interval < .microseconds(2400))
        #expect(Self.snapshot([]).quantile(0.5) == nil)
        #expect(later.quantile(0.5, since: later) == nil)
        // Out of range values land in the first and the last bucket.
        #expect(LatencyHistogram.bucket(0) == 0 && LatencyHistogram.bucket(-5) == 0)
        #expect(LatencyHistogram.bucket(Int.max) == LatencyHistogram.bucketCount - 1)
    }

    @Test func anUnknownIDIsRememberedForItsLifetimeOnly() throws {
        let cache = UnknownSessionIDs()
        let id = try #require(SessionID(parsing: String(repeating: "AB", count: 16)))
        let now = ContinuousClock.now
        #expect(!cache.contains(id, now: now))
        cache.insert(id, now: now)
        #expect(cache.contains(id, now: now + .milliseconds(499)))
        #expect(!cache.contains(id, now: now + UnknownSessionIDs.lifetime))
        #expect(cache.size == 0)
    }

    @Test func theCacheKeepsAtMostItsCapacityForgettingTheOldestFirst() throws {
        let cache = UnknownSessionIDs()
        let now = ContinuousClock.now
        let ids = (0..<(UnknownSessionIDs.capacity + 10)).map { n in
            let digits = String(n, radix: 16, uppercase: true)
            return SessionID(parsing: String(repeating: "0", count: 32 - digits.count) + digits)!
        }
        for id in ids { cache.insert(id, now: now) }
        #expect(cache.size == UnknownSessionIDs.capacity)
        #expect(!cache.contains(ids[0], now: now))
        #expect(!cache.contains(ids[9], now: now))
        #expect(cache.contains(ids[10], now: now))
        #expect(cache.contains(ids.last!, now: now))
    }
}
