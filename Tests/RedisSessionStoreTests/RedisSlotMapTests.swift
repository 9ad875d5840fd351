import NIOCore
import SessionManager
import SessionTesting
import Testing

@testable import RedisSessionStore

@Suite(.capturedLog) struct RedisSlotMapTests {
    /// Figures from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    @Test func slotsAreRedisClusters() {
        #expect(RedisSlotMap.slot(of: "123456789") == 0x31C3 & 16383, "CRC16/XMODEM check value")
        #expect(RedisSlotMap.slot(of: "foo") == 12182)
        #expect(RedisSlotMap.slot(of: "{user1000}.following") == RedisSlotMap.slot(of: "{user1000}.followers"))
        #expect(RedisSlotMap.slot(of: "{user1000}.following") == RedisSlotMap.slot(of: "user1000"))
        #expect(RedisSlotMap.slot(of: "foo{}{bar}") == RedisSlotMap.slot(of: "foo{}{bar}"), "an empty tag hashes the whole key")
        #expect(RedisSlotMap.slot(of: "foo{}{bar}") != RedisSlotMap.slot(of: "bar"))
        #expect(RedisSlotMap.slot(of: "foo{{bar}}zap") == RedisSlotMap.slot(of: "{bar"), "the tag ends at the first }")
        #expect(RedisSlotMap.slot(of: "") == 0)
    }

    @Test func aSessionsKeysShareOneSlot() throws {
        let id = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF-n1.app1"))
        let key = id.storeKey(prefix: "host:/ctx_")
        let slot = RedisSlotMap.slot(of: key)
        #expect(RedisSlotMap.slot(of: "bak:" + key) == slot)
        #expect(RedisSlotMap.slot(of: "lock:" + key) == slot)
        #expect(RedisSlotMap.slot(of: id.withNodeID("n2").storeKey(prefix: "host:/ctx_")) == slot, "a relocation keeps the slot")
    }

    @Test func clusterSlotsReplyIsRead() throws {
        func node(_ ip: String, _ port: Int) -> RedisValue { .array([.bulk(Array(ip.utf8)), .integer(port), .bulk(Array("id".utf8))]) }
        let reply = RedisValue.array([
            .array([.integer(0), .integer(5460), node("127.0.0.1", 7000), node("127.0.0.1", 7003)]),
            .array([.integer(5461), .integer(10922), node("", 7001)]),
            .array([.integer(10923), .integer(16383), node("127.0.0.1", 7002)]),
        ])
        var map = try RedisSlotMap(clusterSlots: reply, asked: RedisAddress(host: "10.0.0.9", port: 7001))
        #expect(map.master(of: 0) == RedisAddress(host: "127.0.0.1", port: 7000))
        #expect(map.master(of: 5461) == RedisAddress(host: "10.0.0.9", port: 7001), "an empty ip is the node asked")
        #expect(map.master(of: 16383) == RedisAddress(host: "127.0.0.1", port: 7002))
        #expect(map.coversAllSlots && map.masters.count == 3)
        map.assign(0, to: RedisAddress(host: "127.0.0.1", port: 7002))
        #expect(map.master(of: 0)?.port == 7002 && map.master(of: 1)?.port == 7000)
        let partial = try RedisSlotMap(clusterSlots: .array([.array([.integer(0), .integer(10), node("h", 1)])]), asked: RedisAddress(host: "h", port: 1))
        #expect(!partial.coversAllSlots && partial.master(of: 11) == nil)
        #expect(throws: (any Error).self) { try RedisSlotMap(clusterSlots: .error("ERR This instance has cluster support disabled"), asked: RedisAddress(host: "h", port: 1)) }
        #expect(throws: (any Error).self) { try RedisSlotMap(clusterSlots: .array([.array([.integer(0), .integer(99999), node("h", 1)])]), asked: RedisAddress(host: "h", port: 1)) }
    }

    @Test func redirectsAreRead() {
        #expect(RedisRedirect(.error("MOVED 3999 127.0.0.1:6381")) == .moved(slot: 3999, to: RedisAddress(host: "127.0.0.1", port: 6381)))
        #expect(RedisRedirect(.error("ASK 3999 10.0.0.1:6380")) == .ask(slot: 3999, to: RedisAddress(host: "10.0.0.1", port: 6380)))
        #expect(RedisRedirect(.error("MOVED 1 :6381")) == .moved(slot: 1, to: RedisAddress(host: "", port: 6381)))
        #expect(RedisRedirect(.error("TRYAGAIN Multiple keys request during rehashing of slot")) == .tryAgain)
        #expect(RedisRedirect(.error("CLUSTERDOWN The cluster is down")) == .clusterDown)
        #expect(RedisRedirect(.error("ERR unknown command")) == nil)
        #expect(RedisRedirect(.status("OK")) == nil)
        #expect(RedisRedirect(.error("MOVED x y")) == nil)
    }
}

@Suite(.capturedLog) struct RedisWaitCommandTests {
    @Test func aWaitIsRecognisedAndNothingElseIs() {
        let allocator = ByteBufferAllocator()
        #expect(RedisCommand.isWait(RedisCommand.wait(replicas: 1, milliseconds: 750, allocator: allocator)))
        #expect(String(buffer: RedisCommand.wait(replicas: 2, milliseconds: 9, allocator: allocator)) == "*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$1\r\n9\r\n")
        #expect(!RedisCommand.isWait(RedisCommand.encode("SET", "WAIT", allocator: allocator)))
        #expect(!RedisCommand.isWait(RedisCommand.encode("GET", "k", allocator: allocator)))
    }
}

/// When the cluster and Sentinel routers look at their topology again, without sockets.
@Suite(.capturedLog) struct RefreshScheduleTests {
    @Test func looksAtOnceThenEveryIntervalOrSoonAfterARequest() {
        var schedule = RefreshSchedule(interval: .seconds(5), spacing: .milliseconds(100))
        let start = ContinuousClock.now
        #expect(schedule.isDue(at: start) && schedule.mayLookInline(at: start), "never looked: due")
        schedule.begin(at: start)
        #expect(!schedule.mayLookInline(at: start), "one under way")
        schedule.end()
        #expect(!schedule.isDue(at: start + .seconds(1)), "nothing asked, interval not passed")
        #expect(schedule.isDue(at: start + .seconds(5)))
        schedule.request()
        #expect(!schedule.isDue(at: start + .milliseconds(50)), "asked, but within the spacing")
        #expect(!schedule.mayLookInline(at: start + .milliseconds(50)), "a flood of commands does not become a flood of looks")
        #expect(schedule.isDue(at: start + .milliseconds(100)))
        #expect(schedule.mayLookInline(at: start + .milliseconds(100)))
        schedule.begin(at: start + .milliseconds(100))
        schedule.end()
        #expect(!schedule.isDue(at: start + .milliseconds(250)), "the request was served by that look")
    }
}
