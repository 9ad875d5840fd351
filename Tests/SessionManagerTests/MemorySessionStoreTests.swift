import Testing

@testable import SessionManager

@Suite struct MemorySessionStoreTests {
    @Test func setGetDeleteAndAdd() async throws {
        let store = MemorySessionStore()
        #expect(try await store.getAndTouch("k", ttl: .seconds(10)) == nil)
        try await store.set("k", value: [1, 2, 3], ttl: .seconds(10))
        #expect(try await store.getAndTouch("k", ttl: .seconds(10)) == [1, 2, 3])
        #expect(try await store.add("k", value: [9], ttl: .seconds(10)) == false)
        #expect(try await store.getAndTouch("k", ttl: .seconds(10)) == [1, 2, 3])
        try await store.delete("k")
        #expect(try await store.getAndTouch("k", ttl: .seconds(10)) == nil)
        #expect(try await store.add("k", value: [9], ttl: .seconds(10)) == true)
        try await store.delete("absent")
    }

    @Test func entriesExpireAndReadsSlideTheDeadline() async throws {
        let store = MemorySessionStore()
        // Margins are wide (reads every 250 ms keep a 1 s entry alive for 1.25 s in all) because a
        // loaded machine can oversleep by hundreds of milliseconds.
        try await store.set("k", value: [1], ttl: .seconds(1))
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(250))
            #expect(try await store.getAndTouch("k", ttl: .seconds(1)) == [1])
        }
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await store.getAndTouch("k", ttl: .seconds(1)) == nil)
        #expect(try await store.touch("k", ttl: .seconds(1)) == false)
    }

    @Test func sweepRemovesOnlyExpiredEntries() async throws {
        let store = MemorySessionStore()
        try await store.set("old", value: [1], ttl: .milliseconds(50))
        try await store.set("live", value: [2], ttl: .seconds(60))
        try await Task.sleep(for: .milliseconds(100))
        #expect(store.count == 2)
        #expect(store.sweep() == 1)
        #expect(store.count == 1)
        #expect(try await store.getAndTouch("live", ttl: .seconds(60)) == [2])
    }

    @Test func runSweepsPeriodicallyAndStopsOnCancel() async throws {
        let store = MemorySessionStore(configuration: .init(sweepInterval: .milliseconds(50)))
        try await store.set("old", value: [1], ttl: .milliseconds(10))
        let task = Task { try await store.run() }
        // Poll instead of sleeping a fixed time: a loaded machine may delay the sweep task.
        let deadline = ContinuousClock.now + .seconds(10)
        while store.count > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(store.count == 0)
        task.cancel()
        try await task.value
    }
}
