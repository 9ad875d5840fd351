import SessionManager
import SessionTesting
import Testing

@Suite(.capturedLog) struct CountingSessionStoreTests {
    @Test func countsEveryOperationAndPassesThrough() async throws {
        let store = CountingSessionStore(MemorySessionStore())
        try await store.set("k", value: [1], ttl: .seconds(5))
        #expect(try await store.getAndTouch("k", ttl: .seconds(5)) == [1])
        #expect(try await store.add("k", value: [2], ttl: .seconds(5)) == false)
        #expect(try await store.touch("k", ttl: .seconds(5)))
        try await store.delete("k")
        #expect(try await store.getAndTouch("k", ttl: .seconds(5)) == nil)
        let counts = store.counts
        #expect(counts.set == 1 && counts.getAndTouch == 2 && counts.add == 1 && counts.touch == 1 && counts.delete == 1)
        #expect(counts.total == 6)
        store.reset()
        #expect(store.counts.total == 0)
    }
}

@Suite(.capturedLog) struct FreePortTests {
    @Test func portsAreInTheEphemeralRangeAndReusable() throws {
        let ports = try (0..<5).map { _ in try FreePort.make() }
        #expect(ports.allSatisfy { $0 > 1024 && $0 <= 65535 })
        #expect(Set(ports).count >= 2)
    }
}
