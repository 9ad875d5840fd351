import Foundation
import SessionTesting
import Testing

/// Non-sticky session locking (`lockingMode`) over real processes: two sample processes share one
/// real Redis or memcached, as two app nodes behind a round-robin balancer do.
@Suite(.capturedLog) struct LockingProcessTests {
    typealias AppNode = StickySessionTests.AppNode
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]

    /// A store and `count` app nodes (routes node1, node2, …) with these `<Manager>` attributes
    /// besides the store node and `sticky="false"`.
    static func withCluster<T>(
        _ kind: StoreServerProcess.Kind,
        nodes count: Int = 2,
        _ attributes: String,
        _ body: (StoreServerProcess, [AppNode]) async throws -> T
    ) async throws -> T {
        try await StoreServerProcess.with(kind) { store in
            var nodes: [AppNode] = []
            defer { for node in nodes { node.kill() } }
            for index in 1...count {
                nodes.append(try await AppNode.start(route: "node\(index)", #"memcachedNodes="\#(StickySessionTests.entry(kind, "n1", store))" sticky="false" \#(attributes)"#))
            }
            return try await body(store, nodes)
        }
    }

    /// A GET answered with status, count and the `Retry-After` header.
    static func get(_ node: AppNode, _ path: String, cookie: String) async throws -> (status: Int, count: Int?, retryAfter: String?) {
        let response = try await RawHTTPClient.get(port: node.port, "/myapp" + path, headers: [("Cookie", cookie)])
        return (response.status, response.fields["count"].flatMap { Int($0) }, response.value("Retry-After"))
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func lockingAllLosesNoIncrementAcrossTwoProcesses(kind: StoreServerProcess.Kind) async throws {
        try await Self.withCluster(kind, #"lockingMode="all""#) { store, nodes in
            let first = try await nodes[0].get("/count", cookie: nil)
            let cookie = try #require(first.cookie)
            let before = try await store.sessionCommandCount()
            #expect(try await RawHTTPClient.get(port: nodes[1].port, "/myapp/plain", headers: [("Cookie", cookie)]).status == 200)
            #expect(try await store.sessionCommandCount() == before, "a request that never uses its session neither loads nor locks it")
            // 16 clients, each on its own keep-alive connection, alternating between the two
            // processes; a 503 (lock not had within operationTimeout) is retried, as a client
            // honouring Retry-After would, only sooner.
            let acknowledged = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<16 {
                    let node = nodes[client % 2]
                    group.addTask {
                        try await RawHTTPClient.withConnection(port: node.port) { connection in
                            var done = 0
                            var attempts = 0
                            while done < 200 {
                                attempts += 1
                                guard attempts < 5000 else { throw SampleProcessTests.SampleProcessError("client \(client) starved") }
                                let response = try await connection.get("/myapp/count", headers: [("Cookie", cookie)])
                                if response.status == 200 {
                                    done += 1
                                } else {
                                    #expect(response.status == 503, "\(response.status) \(response.body)")
                                    try await Task.sleep(for: .milliseconds(20))
                                }
                            }
                            return done
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(acknowledged == 3200)
            let last = try await nodes[1].get("/read", cookie: cookie)
            #expect(last.count == 3201, "every acknowledged increment is in the session: 1 + 16 × 200")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aKilledLockHolderFreesTheLockWithinItsExpiration(kind: StoreServerProcess.Kind) async throws {
        try await Self.withCluster(kind, #"lockingMode="all" lockExpiration="2""#) { _, nodes in
            let cookie = try #require(try await nodes[0].get("/count", cookie: nil).cookie)
            let holder = Task { try? await Self.get(nodes[0], "/sleep?ms=10000&count", cookie: cookie) }
            try await Task.sleep(for: .milliseconds(400))
            await nodes[0].stop(SIGKILL)
            let killed = ContinuousClock.now
            var answered: (status: Int, count: Int?, retryAfter: String?)?
            while ContinuousClock.now - killed < .seconds(6) {
                let response = try await Self.get(nodes[1], "/count", cookie: cookie)
                if response.status == 200 {
                    answered = response
                    break
                }
                #expect(response.status == 503)
            }
            let elapsed = ContinuousClock.now - killed
            holder.cancel()
            #expect(answered?.count == 2, "the killed request's increment was never written")
            #expect(elapsed < .seconds(3), "served within lockExpiration (2 s) + 1 s of the kill: \(elapsed)")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func autoLetsLearnedReadOnlyRequestsRunInParallel(kind: StoreServerProcess.Kind) async throws {
        try await Self.withCluster(kind, #"lockingMode="auto""#) { _, nodes in
            let cookie = try #require(try await nodes[0].get("/count", cookie: nil).cookie)
            // Each node learns that this request id leaves the session unchanged (its first request
            // locks). The query is part of the request id.
            for node in nodes { #expect(try await Self.get(node, "/sleep?ms=500", cookie: cookie).status == 200) }

            func both(_ path: String) async throws -> (Duration, [Int]) {
                let start = ContinuousClock.now
                async let a = Self.get(nodes[0], path, cookie: cookie)
                async let b = Self.get(nodes[1], path, cookie: cookie)
                let statuses = try await [a.status, b.status]
                return (ContinuousClock.now - start, statuses)
            }
            let (readOnly, readStatuses) = try await both("/sleep?ms=500")
            #expect(readStatuses == [200, 200])
            #expect(readOnly < .milliseconds(900), "learned read-only: no lock, the two ran side by side: \(readOnly)")

            let (modifying, countStatuses) = try await both("/sleep?ms=500&count")
            #expect(countStatuses == [200, 200])
            #expect(modifying >= .milliseconds(950), "a modifying request id locks: one waited for the other: \(modifying)")
            #expect(try await nodes[0].get("/read", cookie: cookie).count == 3)
        }
    }

    /// Lock releases counted by the store itself: Redis `EVAL` (compare-and-delete), memcached
    /// `md` (counted in `delete_hits`).
    static func unlocks(_ store: StoreServerProcess) async throws -> Int {
        let counts = try await store.commandCounts()
        if case .redis = store.kind { return counts["eval"] ?? 0 }
        return counts["delete_hits"] ?? 0
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func uriPatternLocksOnlyMatchingRequestsAndIgnoredPathsNever(kind: StoreServerProcess.Kind) async throws {
        let attributes = #"lockingMode="uriPattern:^GET /myapp/count.*" requestUriIgnorePattern=".*\.(png|css)$""#
        try await Self.withCluster(kind, nodes: 1, attributes) { store, nodes in
            let cookie = try #require(try await nodes[0].get("/count", cookie: nil).cookie)
            var before = try await Self.unlocks(store)
            for _ in 0..<3 { #expect(try await nodes[0].get("/count", cookie: cookie).count > 1) }
            var after = try await Self.unlocks(store)
            #expect(after - before == 3, "/count matches: one lock per request")
            before = after
            for _ in 0..<3 { #expect(try await nodes[0].get("/read", cookie: cookie).count == 4) }
            after = try await Self.unlocks(store)
            #expect(after - before == 0, "/read does not match: no lock")
            let commands = try await store.sessionCommandCount()
            for _ in 0..<3 {
                let response = try await RawHTTPClient.get(port: nodes[0].port, "/myapp/style.css", headers: [("Cookie", cookie)])
                #expect(response.status == 200)
            }
            #expect(try await store.sessionCommandCount() == commands, "an ignored path sends no store command at all")
            #expect(try await Self.unlocks(store) == after)
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aLockHeldPastOperationTimeoutAnswers503OrProceedsWithAWarning(kind: StoreServerProcess.Kind) async throws {
        for proceed in [false, true] {
            let attributes = #"lockingMode="all" operationTimeout="300"\#(proceed ? #" lockFailure="proceed""# : "")"#
            try await Self.withCluster(kind, attributes) { _, nodes in
                let cookie = try #require(try await nodes[0].get("/count", cookie: nil).cookie)
                let holder = Task { try await Self.get(nodes[0], "/sleep?ms=1500&count", cookie: cookie) }
                try await Task.sleep(for: .milliseconds(300))
                let blocked = try await Self.get(nodes[1], "/count", cookie: cookie)
                let held = try await holder.value
                #expect(held.status == 200)
                if proceed {
                    #expect(blocked.status == 200, "lockFailure=proceed: served unlocked")
                    let log = try SampleProcessTests.stderr(of: nodes[1].process)
                    #expect(log.contains("lock not acquired"), "logged as a warning: \(log)")
                } else {
                    #expect(blocked.status == 503)
                    #expect(blocked.retryAfter == "1")
                    #expect(try await nodes[1].get("/read", cookie: cookie).count == 2, "the rejected request's app did not run")
                }
            }
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)))
    func aTwelveSecondRequestKeepsItsFiveSecondLock() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for kind in Self.kinds {
                group.addTask {
                    try await Self.withCluster(kind, #"lockingMode="all" lockExpiration="5""#) { _, nodes in
                        let cookie = try #require(try await nodes[0].get("/count", cookie: nil).cookie)
                        let start = ContinuousClock.now
                        let holder = Task { try await Self.get(nodes[0], "/sleep?ms=12000&count", cookie: cookie) }
                        try await Task.sleep(for: .milliseconds(300))
                        var servedWhileHeld = 0
                        var rejected = 0
                        // The other node keeps trying through the whole request, past two lock expirations.
                        while ContinuousClock.now - start < .seconds(11) {
                            let response = try await Self.get(nodes[1], "/count", cookie: cookie)
                            if response.status == 200 { servedWhileHeld += 1 } else { rejected += 1 }
                        }
                        let held = try await holder.value
                        #expect(held.status == 200 && held.count == 2, "\(kind): the long request read 1 and wrote 2")
                        #expect(servedWhileHeld == 0, "\(kind): no request of the other node interleaved")
                        #expect(rejected >= 5)
                        let after = try await Self.get(nodes[1], "/count", cookie: cookie)
                        #expect(after.status == 200 && after.count == 3, "\(kind): the lock is free again, nothing lost")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aLockedRequestMovesToTheBackupWhenTheSessionsStoreNodeDies(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { one in
            try await StoreServerProcess.with(kind) { two in
                let nodes = StickySessionTests.entry(kind, "n1", one) + "," + StickySessionTests.entry(kind, "n2", two)
                let app = try await AppNode.start(route: "node1", #"memcachedNodes="\#(nodes)" sticky="false" lockingMode="all""#)
                defer { app.kill() }
                let first = try await RawHTTPClient.get(port: app.port, "/myapp/count")
                let cookie = try #require(first.cookiePair)
                let store = try #require(first.fields["store"])
                (store == "n1" ? one : two).kill()
                let next = try await RawHTTPClient.get(port: app.port, "/myapp/count", headers: [("Cookie", cookie)])
                #expect(next.status == 200, "the first request after the node died locks on the backup's node: \(next.body)")
                #expect(next.fields["count"] == "2")
                #expect(next.cookiePair != nil, "the session moved: a new cookie")
            }
        }
    }
}
