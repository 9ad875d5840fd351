import Foundation
import MemcachedSessionStore
import SessionTesting
import Testing

/// The peer endpoint's limit in a real sample process: 200 000 session copies written to an
/// endpoint whose `maxBytes` holds about 50 000 of them. The oldest are evicted and counted, the
/// newest are intact, the endpoint says once that it is full, and its resident memory stops
/// growing once the limit is reached (at most 10 % more).
@Suite(.capturedLog) struct PeerEndpointBoundTests {
    static let valueBytes = 1000
    /// What one copy counts against the limit: its key (`s` and six digits), value and the
    /// cache's fixed overhead per item (PeerCache.itemOverhead).
    static let itemBytes = 7 + valueBytes + 96

    static func key(_ index: Int) -> String { String(format: "s%06d", index) }

    /// A value that names its index, so that a copy found is known to be this one's.
    static func value(_ index: Int) -> [UInt8] {
        let label = Array("copy \(index);".utf8)
        return label + [UInt8](repeating: 0x2E, count: valueBytes - label.count)
    }

    /// The endpoint's `stats` as a dictionary.
    static func stats(port: Int) throws -> [String: Int] {
        let fd = try RawSocket.connect(port: port)
        defer { close(fd) }
        let request = Array("stats\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !text.hasSuffix("END\r\n") {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        var stats: [String: Int] = [:]
        for line in text.split(separator: "\r\n") where line.hasPrefix("STAT ") {
            let parts = line.split(separator: " ")
            if parts.count == 3, let value = Int(parts[2]) { stats[String(parts[1])] = value }
        }
        return stats
    }

    @Test
    func anEndpointAtItsLimitEvictsTheOldestAndItsMemoryStaysBounded() async throws {
        let total = 200_000
        let held = 50_000
        let maxBytes = held * Self.itemBytes
        let http = try FreePort.make()
        let peer = try FreePort.make()
        let process = try await SampleProcessTests.startServing(
            """
            <Server>
              <Connector port="\(http)" address="127.0.0.1"/>
              <Engine jvmRoute="node1">
                <Context path="/myapp" app="sample"><Manager memcachedNodes="n1:127.0.0.1:\(peer)" sticky="true"/></Context>
                <SessionPeer nodeId="n1" port="\(peer)" maxBytes="\(maxBytes)"/>
              </Engine>
            </Server>
            """,
            port: http
        )
        defer { process.terminate() }
        let store = MemcachedSessionStore(host: "127.0.0.1", port: peer)
        // In batches of 100 written concurrently, batch after batch: a later batch is newer.
        let batch = 100
        var residentAtLimit: Int?
        for start in stride(from: 0, to: total, by: batch) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in start..<(start + batch) {
                    group.addTask { try await store.set(Self.key(index), value: Self.value(index), ttl: .seconds(600)) }
                }
                try await group.waitForAll()
            }
            // Measured once the limit is surely reached (and the cache's tables have grown to
            // their size at the limit).
            if residentAtLimit == nil, start + batch >= held + 10_000 {
                #expect(try Self.stats(port: peer)["evictions", default: 0] > 0)
                residentAtLimit = try ProcessUsage.residentBytes(of: process.processIdentifier)
            }
        }
        let residentAtEnd = try ProcessUsage.residentBytes(of: process.processIdentifier)
        let stats = try Self.stats(port: peer)
        let items = try #require(stats["curr_items"])
        let atLimit = try #require(residentAtLimit)
        #expect(Double(residentAtEnd) <= Double(atLimit) * 1.10, "RSS \(atLimit) at the limit, \(residentAtEnd) after \(total) writes")
        #expect(try #require(stats["bytes"]) <= maxBytes)
        #expect(items > held * 9 / 10 && items <= held, "\(items) copies held")
        // The sample's manager keeps a key or two there itself (its sticky route lease).
        #expect(((total - items)...(total - items + 2)).contains(stats["evictions"] ?? 0), "every copy not held was evicted and counted: \(stats)")
        // The newest copies are intact, the oldest gone.
        for index in stride(from: total - held * 8 / 10, to: total, by: 97) {
            #expect(try await store.getAndTouch(Self.key(index), ttl: .seconds(600)) == Self.value(index), "copy \(index)")
        }
        for index in stride(from: 0, to: total - held - batch, by: 997) {
            #expect(try await store.getAndTouch(Self.key(index), ttl: .seconds(600)) == nil, "copy \(index) was evicted")
        }
        await store.shutdown()
        let said = try SampleExecutable.stderr(of: process).components(separatedBy: "session peer endpoint is full").count - 1
        #expect(said == 1, "the endpoint says once that it is full")
        print("peer endpoint bound: RSS \(atLimit / 1_048_576) MiB at the limit, \(residentAtEnd / 1_048_576) MiB after \(total) writes; \(items) held, \(stats["evictions"] ?? 0) evicted")
    }
}
