import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct MemorySessionStoreTests {
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
        // Reads every 250 ms keep a 1 s entry alive for 1.25 s in all. A loaded machine can
        // oversleep by more than the time to live: a read that came that late is not asserted
        // on (the entry may rightly be gone), the entry is set again instead.
        try await store.set("k", value: [1], ttl: .seconds(1))
        var touched = ContinuousClock.now
        var asserted = 0
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(250))
            let late = ContinuousClock.now - touched > .milliseconds(900)
            let read = try await store.getAndTouch("k", ttl: .seconds(1))
            if late {
                try await store.set("k", value: [1], ttl: .seconds(1))
            } else {
                #expect(read == [1])
                asserted += 1
            }
            touched = ContinuousClock.now
        }
        #expect(asserted > 0, "every read came more than 900 ms late")
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
