import Logging
import MemcachedSessionStore
import SessionManager
@testable import SessionPeerEndpoint
import SessionTesting
import Synchronization
import Testing

/// The endpoint as the memcached store sees it: the store's own lock contract, and its
/// commands, against the endpoint instead of memcached.
@Suite struct PeerEndpointStoreTests {
    static func withEndpoint(_ body: (MemcachedSessionStore) async throws -> Void) async throws {
        let endpoint = PeerEndpoint(port: 0, limitBytes: 1 << 24, logger: Logger(label: "peer"))
        let port = Mutex<Int?>(nil)
        let running = Task { try await endpoint.run { bound in port.withLock { $0 = bound } } }
        defer { running.cancel() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
        let store = MemcachedSessionStore(host: "127.0.0.1", port: try #require(port.withLock { $0 }))
        try await body(store)
        await store.shutdown()
    }

    @Test func theStoresLockContractHolds() async throws {
        try await Self.withEndpoint { store in try await StoreLockContract.check(store) }
    }

    @Test func theStoresCommands() async throws {
        try await Self.withEndpoint { store in
            try await store.set("k", value: [1, 2], ttl: .seconds(60))
            #expect(try await store.getAndTouch("k", ttl: .seconds(60)) == [1, 2])
            #expect(try await !store.add("k", value: [3], ttl: .seconds(60)))
            #expect(try await store.replace("k", value: [4], ttl: .seconds(60)))
            #expect(try await !store.replace("absent", value: [4], ttl: .seconds(60)))
            let read = try #require(try await store.getVersioned("k"))
            #expect(read.bytes == [4])
            #expect(try await store.setIfUnchanged("k", value: [5], ttl: .seconds(60), expected: read))
            #expect(try await !store.setIfUnchanged("k", value: [6], ttl: .seconds(60), expected: read), "changed since it was read")
            #expect(try await store.touch("k", ttl: .seconds(60)))
            try await store.delete("k")
            #expect(try await store.getAndTouch("k", ttl: .seconds(60)) == nil)
        }
    }
}
