import Foundation
import Logging
import NIOCore
import SessionManager
import SessionStoreNIO
import SessionTesting
import Testing

@testable import RedisSessionStore

/// Integration tests against real redis-server processes started on free loopback ports.
@Suite(.capturedLog, .enabled(if: StoreServerProcess.Kind.redis().isRunnable, "\(StoreServerProcess.Kind.redis().installHint)"))
struct RedisSessionStoreTests {
    static let fast = StoreClientConfiguration(operationTimeout: .milliseconds(300), connectTimeout: .milliseconds(300))

    static func store(_ server: StoreServerProcess, password: String? = nil, user: String? = nil, database: Int = 0) -> RedisSessionStore {
        RedisSessionStore(
            url: RedisURL(host: "127.0.0.1", port: server.port, database: database, user: user, password: password),
            configuration: fast
        )
    }

    func withStore<T>(_ kind: StoreServerProcess.Kind = .redis(), _ body: (RedisSessionStore, StoreServerProcess) async throws -> T) async throws -> T {
        try await StoreServerProcess.with(kind) { server in
            let store = Self.store(server)
            defer { Task { await store.shutdown() } }
            return try await body(store, server)
        }
    }

    func pttl(_ store: RedisSessionStore, _ key: String) async throws -> Int {
        guard case .integer(let ms) = try await store.command([Array("PTTL".utf8), Array(key.utf8)]) else { return -99 }
        return ms
    }

    @Test func roundTripsBinaryValues() async throws {
        try await withStore { store, _ in
            let all = Array(UInt8.min...UInt8.max)
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == nil)
            try await store.set("sm:k", value: all, ttl: .seconds(60))
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == all)
            #expect(try await store.add("sm:k", value: [1], ttl: .seconds(60)) == false, "add on an existing key fails")
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == all)
            #expect(try await store.touch("sm:k", ttl: .seconds(60)) == true)
            try await store.delete("sm:k")
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == nil)
            #expect(try await store.touch("sm:k", ttl: .seconds(60)) == false)
            try await store.delete("sm:k")
            #expect(try await store.add("sm:k", value: [], ttl: .seconds(60)) == true)
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == [])
            let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            try await store.set("sm:big", value: big, ttl: .seconds(60))
            #expect(try await store.getAndTouch("sm:big", ttl: .seconds(60)) == big)
            let tricky = Array("\r\n$5\r\nhello\r\n*1\r\n-ERR x\r\n".utf8)
            try await store.set("sm:t", value: tricky, ttl: .seconds(60))
            #expect(try await store.getAndTouch("sm:t", ttl: .seconds(60)) == tricky)
        }
    }

    @Test func ttlSlidesOnReadAndExpires() async throws {
        try await withStore { store, _ in
            try await store.set("sm:ttl", value: [1], ttl: .seconds(2))
            #expect(try await pttl(store, "sm:ttl") <= 2000)
            _ = try await store.getAndTouch("sm:ttl", ttl: .seconds(60))
            #expect(try await pttl(store, "sm:ttl") > 50_000, "GETEX PX slid the expiry")
            #expect(try await store.touch("sm:ttl", ttl: .seconds(120)))
            #expect(try await pttl(store, "sm:ttl") > 110_000)
            try await store.set("sm:short", value: [1], ttl: .milliseconds(200))
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await store.getAndTouch("sm:short", ttl: .seconds(1)) == nil)
        }
    }

    @Test func authWithRightAndWrongPassword() async throws {
        try await StoreServerProcess.with(.redis(password: "s3cret")) { server in
            let right = Self.store(server, password: "s3cret")
            try await right.set("sm:a", value: [1], ttl: .seconds(60))
            #expect(try await right.getAndTouch("sm:a", ttl: .seconds(60)) == [1])
            await right.shutdown()

            let wrong = Self.store(server, password: "nope")
            let start = ContinuousClock.now
            await #expect(throws: StoreClientError(.authenticationFailed, "")) { try await wrong.run() }
            await #expect(throws: StoreClientError(.authenticationFailed, "")) { _ = try await wrong.getAndTouch("sm:a", ttl: .seconds(1)) }
            #expect(ContinuousClock.now - start < .seconds(2), "a clear error, not a hang")
            await wrong.shutdown()

            let none = Self.store(server)
            await #expect(throws: StoreClientError(.authenticationFailed, "")) { _ = try await none.getAndTouch("sm:a", ttl: .seconds(1)) }
            await none.shutdown()
        }
    }

    @Test func databasesIsolateKeys() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let one = Self.store(server, database: 1)
            let two = Self.store(server, database: 2)
            try await one.set("sm:same", value: [1], ttl: .seconds(60))
            try await two.set("sm:same", value: [2], ttl: .seconds(60))
            #expect(try await one.getAndTouch("sm:same", ttl: .seconds(60)) == [1])
            #expect(try await two.getAndTouch("sm:same", ttl: .seconds(60)) == [2])
            try await one.delete("sm:same")
            #expect(try await two.getAndTouch("sm:same", ttl: .seconds(60)) == [2])
            let bad = Self.store(server, database: 70_000 % 65_536 + 20_000)
            await #expect(throws: StoreClientError(.serverError, "")) { try await bad.run() }
            await one.shutdown(); await two.shutdown(); await bad.shutdown()
        }
    }

    @Test func locksAreComparedByTokenAndExpire() async throws {
        try await withStore { store, _ throws in try await StoreLockContract.check(store) }
    }

    @Test func redisErrorsAreTypedWithTheServersMessage() async throws {
        try await withStore { store, _ in
            _ = try await store.command([Array("LPUSH".utf8), Array("sm:list".utf8), [1]])
            let wrongType = await #expect(throws: StoreClientError.self) { _ = try await store.getAndTouch("sm:list", ttl: .seconds(1)) }
            #expect(wrongType?.code == .serverError)
            #expect(wrongType?.message.contains("WRONGTYPE") == true, "\(String(describing: wrongType))")
            let unknown = await #expect(throws: StoreClientError.self) { _ = try await store.command([Array("NOSUCHCOMMAND".utf8)]) }
            #expect(unknown?.message.contains("ERR") == true)
            // The connection is still fine.
            try await store.set("sm:ok", value: [1], ttl: .seconds(60))
            #expect(try await store.getAndTouch("sm:ok", ttl: .seconds(60)) == [1])
        }
    }

    @Test func pipelinedConcurrentCommandsGetTheirOwnReplies() async throws {
        try await withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<300 {
                    group.addTask {
                        let value = Array("value-\(i)".utf8)
                        try await store.set("sm:p\(i)", value: value, ttl: .seconds(60))
                        #expect(try await store.getAndTouch("sm:p\(i)", ttl: .seconds(60)) == value)
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
                let error = await #expect(throws: StoreClientError.self) { _ = try await store.getAndTouch("sm:k", ttl: .seconds(60)) }
                #expect([.connectionClosed, .connectFailed, .nodeDown].contains(error?.code), "\(String(describing: error))")
            }
            #expect(ContinuousClock.now - start < .seconds(2), "no hang")
            try await server.restart()
            let deadline = ContinuousClock.now + .seconds(5)
            var recovered = false
            while ContinuousClock.now < deadline && !recovered {
                recovered = (try? await store.set("sm:k", value: [2], ttl: .seconds(60))) != nil
                if !recovered { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(recovered, "the store reconnected without a restart of the app")
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == [2])
        }
    }

    /// A server that accepts and never answers fails the connection's `PING` probe: a connect
    /// failure within the connect timeout (the connection never counts as open), closed, and tried
    /// again on a new connection after the backoff.
    @Test func aServerThatNeverAnswersIsAConnectFailureTriedAgainAfterTheBackoff() async throws {
        let silent = try await SilentServer.start()
        let store = RedisSessionStore(url: RedisURL(host: "127.0.0.1", port: silent.port), configuration: Self.fast)
        let start = ContinuousClock.now
        await #expect { _ = try await store.getAndTouch("sm:k", ttl: .seconds(1)) } throws: { error in
            (error as? StoreClientError)?.code == .connectFailed && "\(error)".contains("did not answer PING: no reply within the operation timeout")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        try await Task.sleep(for: .milliseconds(100))  // past the first backoff (50 ms ± 25 %)
        await #expect(throws: StoreClientError(.connectFailed, "")) { _ = try await store.getAndTouch("sm:k", ttl: .seconds(1)) }
        #expect(silent.acceptedConnections == 2, "the silent connection was closed, a new one opened")
        await store.shutdown()
        await silent.close()
    }

    @Test func aLateReplyIsNeverDeliveredToAnotherCommand() async throws {
        try await withStore { store, server in
            try await store.set("sm:a", value: Array("A".utf8), ttl: .seconds(60))
            try await store.set("sm:b", value: Array("B".utf8), ttl: .seconds(60))
            await server.suspend()  // the server holds "GETEX sm:a" and answers it after the deadline
            await #expect(throws: StoreClientError(.timeout, "")) { _ = try await store.getAndTouch("sm:a", ttl: .seconds(60)) }
            server.resume()
            for _ in 0..<20 {
                #expect(try await store.getAndTouch("sm:b", ttl: .seconds(60)) == Array("B".utf8))
            }
        }
    }

    @Test func rssStaysFlatOverAHundredThousandCommands() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            // About memory, not deadlines: a generous timeout, so that a machine starved by the
            // other tests (a command late by 300 ms) does not fail it.
            let store = RedisSessionStore(
                url: RedisURL(host: "127.0.0.1", port: server.port),
                configuration: StoreClientConfiguration(operationTimeout: .seconds(10))
            )
            defer { Task { await store.shutdown() } }
            let value = [UInt8](repeating: 7, count: 512)
            func batch(_ count: Int) async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            for i in 0..<count / 8 {
                                if i % 2 == 0 {
                                    try await store.set("sm:leak\(worker)", value: value, ttl: .seconds(60))
                                } else {
                                    _ = try await store.getAndTouch("sm:leak\(worker)", ttl: .seconds(60))
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await batch(20_000)  // warm up: pools, buffers, allocator arenas
            let before = try ProcessUsage.residentBytes()
            try await batch(100_000)
            let after = try ProcessUsage.residentBytes()
            let growth = after - before
            print("RSS before \(before / 1024) KiB, after 10^5 commands \(after / 1024) KiB, growth \(growth / 1024) KiB")
            #expect(growth < 16 << 20, "RSS grew by \(growth / 1024) KiB over 10^5 commands")
        }
    }
}
