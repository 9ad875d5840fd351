import Foundation
import Logging
import NIOCore
import SessionStoreNIO
import SessionTesting
import Testing

@testable import MemcachedSessionStore

/// Integration tests against real memcached processes started on free loopback ports.
@Suite(.capturedLog, .enabled(if: StoreServerProcess.Kind.memcached().isRunnable, "\(StoreServerProcess.Kind.memcached().installHint)"))
struct MemcachedSessionStoreTests {
    static let fast = StoreClientConfiguration(operationTimeout: .milliseconds(300), connectTimeout: .milliseconds(300))

    func withStore<T>(
        _ kind: StoreServerProcess.Kind = .memcached(),
        configuration: StoreClientConfiguration = fast,
        _ body: (MemcachedSessionStore, StoreServerProcess) async throws -> T
    ) async throws -> T {
        try await StoreServerProcess.with(kind) { server in
            let store = MemcachedSessionStore(host: "127.0.0.1", port: server.port, configuration: configuration)
            defer { Task { await store.shutdown() } }
            return try await body(store, server)
        }
    }

    @Test func locksAreComparedByCASAndExpire() async throws {
        try await withStore { store, _ in try await StoreLockContract.check(store) }
    }

    @Test func everyCommandRoundTripsBinaryValues() async throws {
        try await withStore { store, _ in
            let all = Array(UInt8.min...UInt8.max)
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == nil)
            try await store.set("sm:k", value: all, ttl: .seconds(60))
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == all)
            #expect(try await store.get("sm:k") == all)
            #expect(try await store.add("sm:k", value: [1], ttl: .seconds(60)) == false, "add on an existing key fails")
            #expect(try await store.get("sm:k") == all)
            #expect(try await store.touch("sm:k", ttl: .seconds(60)) == true)
            try await store.delete("sm:k")
            #expect(try await store.get("sm:k") == nil)
            #expect(try await store.touch("sm:k", ttl: .seconds(60)) == false)
            try await store.delete("sm:k")  // absent: not an error
            #expect(try await store.add("sm:k", value: [], ttl: .seconds(60)) == true)
            #expect(try await store.get("sm:k") == [])
            // A value that looks like protocol.
            let tricky = Array("\r\nEND\r\nVALUE x 0 1\r\n".utf8)
            try await store.set("sm:t", value: tricky, ttl: .seconds(60))
            #expect(try await store.get("sm:t") == tricky)
        }
    }

    @Test func aMillionByteValueAndOneOverTheItemLimit() async throws {
        try await withStore { store, _ in
            let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try await store.set("sm:big", value: big, ttl: .seconds(60))
            #expect(try await store.get("sm:big") == big)
            let tooBig = [UInt8](repeating: 1, count: 2 << 20)
            await #expect(throws: StoreClientError(.valueTooLarge, "")) { try await store.set("sm:huge", value: tooBig, ttl: .seconds(60)) }
            // The connection (and the pool) stay usable.
            try await store.set("sm:after", value: [42], ttl: .seconds(60))
            #expect(try await store.get("sm:after") == [42])
        }
    }

    @Test func ttlExpiresAndGetAndTouchSlidesIt() async throws {
        try await withStore { store, _ in
            // memcached's clock ticks once a second, so a ttl of 4 s lives 3 to 4 s: gat every
            // 1.5 s keeps it for 4.5 s in all, then 5.5 s idle is past any rounding.
            try await store.set("sm:ttl", value: [1], ttl: .seconds(4))
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try await store.getAndTouch("sm:ttl", ttl: .seconds(4)) == [1])
            }
            try await Task.sleep(for: .milliseconds(5500))
            #expect(try await store.get("sm:ttl") == nil)
        }
    }

    @Test func aServerWithoutGatIsReadWithGetAndTouch() async throws {
        // memcached before 1.5.3 answers `gat` with ERROR. A current server behind a proxy that
        // renames `gat` to an unknown command answers the same way, in order.
        try await StoreServerProcess.with(.memcached()) { server in
            let proxy = try await RewritingProxy.start(to: server.port) { bytes in
                guard bytes.starts(with: Array("gat ".utf8)) else { return bytes }
                return Array("gatx ".utf8) + bytes.dropFirst(4)
            }
            defer { Task { await proxy.close() } }
            let logs = LogCapture()
            let store = MemcachedSessionStore(
                host: "127.0.0.1", port: proxy.port, configuration: Self.fast, logger: logs.logger(label: "memcached")
            )
            defer { Task { await store.shutdown() } }

            try await store.set("sm:old", value: [1, 2, 3], ttl: .seconds(2))
            #expect(store.supportsGat)
            #expect(try await store.getAndTouch("sm:old", ttl: .seconds(6)) == [1, 2, 3])
            #expect(!store.supportsGat, "ERROR to gat switches to get + touch")
            #expect(try await store.getAndTouch("sm:missing", ttl: .seconds(6)) == nil)
            #expect(try await store.getAndTouch("sm:old", ttl: .seconds(6)) == [1, 2, 3])
            #expect(logs.records(.warning, containing: "does not know 'gat'").count == 1, "said once")
            // The touch slid the expiry: 2 s would have ended by now (memcached's clock ticks in seconds).
            try await Task.sleep(for: .milliseconds(3500))
            #expect(try await store.get("sm:old") == [1, 2, 3])
        }
    }

    @Test func expirationsBeyondThirtyDaysAreKept() async throws {
        try await withStore { store, _ in
            // Sent as a relative 31 days, memcached would read a date in 1970 and expire it at once.
            try await store.set("sm:long", value: [7], ttl: .seconds(31 * 86_400))
            #expect(try await store.get("sm:long") == [7])
            #expect(try await store.touch("sm:long", ttl: .seconds(40 * 86_400)) == true)
            #expect(try await store.getAndTouch("sm:long", ttl: .seconds(60 * 86_400)) == [7])
            #expect(try await store.get("sm:long") == [7])
        }
    }

    @Test func invalidKeysFailBeforeAnythingIsSent() async throws {
        try await withStore { store, _ in
            await #expect(throws: StoreClientError(.invalidKey, "")) { try await store.set("bad key", value: [1], ttl: .seconds(1)) }
            await #expect(throws: StoreClientError(.invalidKey, "")) { _ = try await store.getAndTouch(String(repeating: "k", count: 251), ttl: .seconds(1)) }
            try await store.set("sm:ok", value: [1], ttl: .seconds(60))
            #expect(try await store.get("sm:ok") == [1])
        }
    }

    @Test func pipelinedConcurrentCommandsGetTheirOwnReplies() async throws {
        try await withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let value = Array("value-\(i)".utf8)
                        try await store.set("sm:p\(i)", value: value, ttl: .seconds(60))
                        let read = try await store.getAndTouch("sm:p\(i)", ttl: .seconds(60))
                        #expect(read == value)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func aKilledServerFailsFastAndARestartedOneIsUsedAgain() async throws {
        try await withStore { store, server in
            try await store.set("sm:k", value: [1], ttl: .seconds(60))
            server.kill()
            let start = ContinuousClock.now
            for _ in 0..<5 {
                do {
                    _ = try await store.getAndTouch("sm:k", ttl: .seconds(60))
                    Issue.record("a dead server answered")
                } catch let error as StoreClientError {
                    #expect([.connectionClosed, .connectFailed, .nodeDown].contains(error.code), "\(error)")
                }
            }
            #expect(ContinuousClock.now - start < .seconds(2), "no hang: every command failed within the timeouts")
            try await server.restart()
            // The store reconnects by itself after its backoff (the data is gone: memcached is a cache).
            let deadline = ContinuousClock.now + .seconds(5)
            var recovered = false
            while ContinuousClock.now < deadline && !recovered {
                if (try? await store.set("sm:k", value: [2], ttl: .seconds(60))) != nil { recovered = true }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(recovered)
            #expect(try await store.get("sm:k") == [2])
        }
    }

    /// A server that accepts and never answers fails the connection's `version` probe: a connect
    /// failure at the deadline, closed, and tried again on a new connection after the backoff.
    @Test func aServerThatNeverAnswersIsAConnectFailureTriedAgainAfterTheBackoff() async throws {
        let silent = try await SilentServer.start()
        let store = MemcachedSessionStore(host: "127.0.0.1", port: silent.port, configuration: Self.fast)
        let start = ContinuousClock.now
        await #expect { _ = try await store.get("sm:k") } throws: { error in
            (error as? StoreClientError)?.code == .connectFailed && "\(error)".contains("did not answer version: no reply within the operation timeout")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(2), "\(elapsed)")
        try await Task.sleep(for: .milliseconds(100))  // past the first backoff (50 ms ± 25 %)
        await #expect(throws: StoreClientError(.connectFailed, "")) { _ = try await store.get("sm:k") }
        #expect(silent.acceptedConnections == 2, "the silent connection was closed and a new one opened")
        await store.shutdown()
        await silent.close()
    }

    @Test func aLateReplyNeverReachesTheNextCommand() async throws {
        try await withStore { store, server in
            try await store.set("sm:a", value: Array("A".utf8), ttl: .seconds(60))
            try await store.set("sm:b", value: Array("B".utf8), ttl: .seconds(60))
            await server.suspend()
            await #expect(throws: StoreClientError(.timeout, "")) { _ = try await store.get("sm:a") }
            server.resume()  // the reply to "get sm:a" goes to the closed connection
            for _ in 0..<20 {
                #expect(try await store.get("sm:b") == Array("B".utf8))
            }
        }
    }
}
