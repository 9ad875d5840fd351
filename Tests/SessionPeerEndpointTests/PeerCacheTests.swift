@testable import SessionPeerEndpoint
import Testing

/// The peer endpoint's cache without sockets: the byte limit with least-recently-used eviction,
/// expiry, and CAS values.
@Suite struct PeerCacheTests {
    static func value(_ size: Int) -> [UInt8] { [UInt8](repeating: 7, count: size) }

    @Test func theLimitEvictsTheLeastRecentlyUsedAndCountsIt() {
        let itemCost = 2 + 100 + PeerCache.itemOverhead
        var cache = PeerCache(limitBytes: itemCost * 3)
        for key in ["k1", "k2", "k3"] { cache.set(key, value: Self.value(100), expiry: 1000, now: 0) }
        _ = cache.get("k1", now: 1)  // k2 is now the least recently used
        cache.set("k4", value: Self.value(100), expiry: 1000, now: 2)
        #expect(cache.get("k2", now: 3) == nil && cache.get("k1", now: 3) != nil && cache.get("k4", now: 3) != nil)
        #expect(cache.evictions == 1 && cache.usedBytes == itemCost * 3)
    }

    @Test func expiredItemsAreAbsentAndGoBeforeLiveOnes() {
        let itemCost = 2 + 100 + PeerCache.itemOverhead
        var cache = PeerCache(limitBytes: itemCost * 2)
        cache.set("k1", value: Self.value(100), expiry: 1000, now: 0)
        cache.set("k2", value: Self.value(100), expiry: 10, now: 0)
        _ = cache.get("k1", now: 5)
        cache.set("k3", value: Self.value(100), expiry: 1000, now: 20)
        #expect(cache.evictions == 0, "the expired k2 made room, not the live k1")
        #expect(cache.get("k1", now: 21) != nil && cache.get("k2", now: 21) == nil)
        #expect(!cache.touch("k2", expiry: 2000, now: 21) && cache.touch("k1", expiry: 30, now: 21))
        #expect(cache.get("k1", now: 31) == nil, "the touch set the new expiry")
    }

    @Test func everyStoreGetsANewCASAndTooLargeIsRefused() {
        var cache = PeerCache(limitBytes: 1000)
        let first = cache.set("k", value: [1], expiry: 100, now: 0)
        let second = cache.set("k", value: [2], expiry: 100, now: 0)
        #expect(first != nil && second != nil && first != second)
        #expect(cache.get("k", now: 1)?.value == [2] && cache.count == 1)
        #expect(cache.set("big", value: Self.value(1000), expiry: 100, now: 0) == nil)
        #expect(cache.delete("k", now: 1) && !cache.delete("k", now: 1) && cache.usedBytes == 0)
    }
}
