import Foundation
import Logging
import MemcachedSessionStore
import RedisSessionStore
import SessionManager
import SessionStores
import SessionTesting
import Testing

/// Sticky mode (msm's default) with sample processes on real Redis and memcached servers: the
/// session lives in the app node's memory, the store holds its copy for the other nodes.
@Suite(.capturedLog, .serialized)
struct StickySessionTests {
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]

    /// A store node entry for `memcachedNodes`.
    static func entry(_ kind: StoreServerProcess.Kind, _ id: String, _ server: StoreServerProcess) -> String {
        if case .redis = kind { return "\(id):redis://127.0.0.1:\(server.port)" }
        return "\(id):127.0.0.1:\(server.port)"
    }

    /// A store server of `kind`, one sample process (no jvmRoute) with it as its only store
    /// node `n1` and the other `<Manager>` attributes `attributes`, and a reader of that store.
    static func withOneAppNode(
        _ kind: StoreServerProcess.Kind,
        _ attributes: String = "",
        _ body: (StoreServerProcess, AppNode, StoreReader) async throws -> Void
    ) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = entry(kind, "n1", server)
            // No jvmRoute (a route of the process's own): with one, the route lease's refresh,
            // a store command a second, would count among the commands these tests measure.
            let app = try await AppNode.start(route: nil, "memcachedNodes=\"\(nodes)\" \(attributes)")
            defer { app.kill() }
            let reader = try StoreReader(nodes)
            do {
                try await body(server, app, reader)
            } catch {
                await reader.shutdown()
                throw error
            }
            await reader.shutdown()
        }
    }

    /// A sample process: jvmRoute `route` (`nil`: none), the sample app on `/myapp` with
    /// `<Manager managerAttributes/>`.
    struct AppNode {
        let port: Int
        let process: Process

        static func start(route: String?, _ managerAttributes: String) async throws -> AppNode {
            let port = try FreePort.make()
            let engine = route.map { "<Engine jvmRoute=\"\($0)\">" } ?? "<Engine>"
            let process = try await SampleProcessTests.startServing(
                """
                <Server>
                  <Connector port="\(port)" address="127.0.0.1"/>
                  \(engine)
                    <Context path="/myapp" app="sample"><Manager \(managerAttributes)/></Context>
                  </Engine>
                </Server>
                """,
                port: port
            )
            return AppNode(port: port, process: process)
        }

        /// `/count` or `/read` with the cookie `cookie`; the count and the id answered.
        func get(_ path: String, cookie: String?) async throws -> (count: Int, id: String, cookie: String?) {
            let response = try await RawHTTPClient.get(port: port, "/myapp" + path, headers: cookie.map { [("Cookie", $0)] } ?? [])
            guard response.status == 200, let count = response.fields["count"].flatMap({ Int($0) }), let id = response.fields["id"] else {
                throw SampleProcessTests.SampleProcessError("\(path) on port \(port) answered \(response.status)")
            }
            return (count, id, response.cookiePair ?? cookie)
        }

        /// Sends `signal` and waits (without blocking a thread of the test's pool) until the process exits.
        func stop(_ signal: Int32 = SIGKILL) async {
            Foundation.kill(process.processIdentifier, signal)
            for _ in 0..<400 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
        }

        /// SIGKILL, for `defer` (the process is gone a moment later).
        func kill() {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Reads what the store holds of a session, as another node would (no manager, no side effect).
    struct StoreReader {
        let nodes: [SessionStoreNode]
        static let prefix = "sm:/myapp:"

        init(_ memcachedNodes: String) throws {
            var configuration = ManagerConfiguration()
            configuration.memcachedNodes = try StoreNode.parseList(memcachedNodes)
            nodes = try SessionStores.makeNodes(for: configuration, logger: Logger(label: "reader"))
        }

        func store(for id: String) -> (any SessionStore)? {
            guard let parsed = SessionID(parsing: id) else { return nil }
            return nodes.first { $0.id == parsed.nodeID }?.store ?? (parsed.nodeID == nil ? nodes.first?.store : nil)
        }

        /// The stored bytes of the session `id`, read without touching its time to live.
        func peek(_ id: String) async throws -> [UInt8]? {
            guard let key = SessionID(parsing: id)?.storeKey(prefix: Self.prefix) else { return nil }
            switch store(for: id) {
            case let redis as RedisSessionStore:
                if case .bulk(let bytes) = try await redis.command([Array("GET".utf8), Array(key.utf8)]) { return bytes }
                return nil
            case let memcached as MemcachedSessionStore:
                return try await memcached.get(key)
            default:
                return nil
            }
        }

        /// The stored count of the session `id`; `nil` when the store has no copy under that id.
        func count(_ id: String) async throws -> Int? {
            guard let bytes = try await peek(id) else { return nil }
            guard case .int(let count)? = try BinarySessionTranscoder().decode(bytes).attributes["count"] else { return nil }
            return count
        }

        /// Waits until the store holds `count` for `id` (a write after the response lands
        /// shortly after it); returns how long that took, `nil` if not within 5 s.
        func waitFor(_ id: String, count: Int) async throws -> Duration? {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(5) {
                if try await self.count(id) == count { return ContinuousClock.now - start }
                try await Task.sleep(for: .milliseconds(2))
            }
            return nil
        }

        /// Waits until the store has no copy under `id` (a key deleted right after a write that
        /// itself comes after the response); `false` if it is still there after 1 s.
        func isGone(_ id: String) async throws -> Bool {
            for _ in 0..<100 {
                if try await peek(id) == nil { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }

        func shutdown() async {
            for node in nodes {
                if let redis = node.store as? RedisSessionStore { await redis.shutdown() }
                if let memcached = node.store as? MemcachedSessionStore { await memcached.shutdown() }
            }
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aReadCostsNoStoreCommandAndAChangeOneWrite(kind: StoreServerProcess.Kind) async throws {
        try await Self.withOneAppNode(kind) { server, app, reader in
            let created = try await app.get("/count", cookie: nil)
            #expect(try await reader.waitFor(created.id, count: 1) != nil, "the new session is written")
            let before = try await server.sessionCommandCount()
            for _ in 0..<10 { #expect(try await app.get("/read", cookie: created.cookie).count == 1) }
            #expect(try await server.sessionCommandCount() == before, "read-only requests on a resident session cost no store command")
            #expect(try await app.get("/count", cookie: created.cookie).count == 2)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.sessionCommandCount() == before + 1, "a modifying request costs one write")
        }
    }

    /// One busy session: concurrent changes after their responses are coalesced (a request that
    /// finds the session being written hands its change to that writer), and the store ends with
    /// every increment.
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func concurrentChangesToOneSessionAreCoalescedAndNoneIsLost() async throws {
        try await Self.withOneAppNode(.redis()) { server, app, reader in
            let created = try await app.get("/count", cookie: nil)
            let before = try await server.commandCounts()["set"] ?? 0
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { for _ in 0..<50 { _ = try await app.get("/count", cookie: created.cookie) } }
                }
                try await group.waitForAll()
            }
            #expect(try await app.get("/read", cookie: created.cookie).count == 401)
            #expect(try await reader.waitFor(created.id, count: 401) != nil, "the last change is in the store")
            let writes = (try await server.commandCounts()["set"] ?? 0) - before
            print("sticky hot session: 400 changes from 8 clients, \(writes) writes")
            #expect(writes < 400, "coalesced")
        }
    }

    /// The user moves node1, node1, node2, node2, node1 (the balancer lost node1, then got it
    /// back): every move is a takeover with a new cookie, and node1 never serves the copy it kept
    /// in memory from before the move.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds, [false, true])
    func pingPongBetweenTwoAppNodesCountsExactly(kind: StoreServerProcess.Kind, async: Bool) async throws {
        try await StoreServerProcess.with(kind) { a in
            try await StoreServerProcess.with(kind) { b in
                // msm's wiki topology: each app node's failover node is "its own" store node.
                let nodes = "\(Self.entry(kind, "n1", a)),\(Self.entry(kind, "n2", b))"
                let attributes = "memcachedNodes=\"\(nodes)\" sessionBackupAsync=\"\(async)\" operationTimeout=\"500\""
                let node1 = try await AppNode.start(route: "node1", attributes + " failoverNodes=\"n1\"")
                defer { node1.kill() }
                let node2 = try await AppNode.start(route: "node2", attributes + " failoverNodes=\"n2\"")
                defer { node2.kill() }
                let reader = try StoreReader(nodes)
                var cookie: String?
                var ids: [String] = []
                for (step, node) in [node1, node1, node2, node2, node1].enumerated() {
                    let answer = try await node.get("/count", cookie: cookie)
                    #expect(answer.count == step + 1, "step \(step + 1): \(answer)")
                    cookie = answer.cookie
                    ids.append(answer.id)
                    // Sent to another node only once its copy is in the store (asynchronous: after the response).
                    #expect(try await reader.waitFor(answer.id, count: step + 1) != nil)
                    if step == 2 {
                        // node2 took it over: its old key (node1's id) goes right after the new write.
                        #expect(try await reader.isGone(ids[1]), "the key of the id taken over is gone")
                    }
                }
                let random = String(ids[0].prefix(SessionID.randomLength))
                #expect(ids.allSatisfy { $0.hasPrefix(random) }, "one session throughout: \(ids)")
                #expect(ids[0].hasSuffix(".node1") && ids[2].hasSuffix(".node2") && ids[4].hasSuffix(".node1"), "\(ids)")
                #expect(try await reader.isGone(ids[3]), "the key of node2's id is gone after node1 took it back")
                await reader.shutdown()
            }
        }
    }

    /// The app node holding a session dies right after a change: with `sessionBackupAsync="false"`
    /// the other node takes over the latest count; with the default, once the write after the
    /// response landed (the window is measured and printed).
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aKilledAppNodesSessionsContinueOnTheOther(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = Self.entry(kind, "n1", server)
            let reader = try StoreReader(nodes)
            for async in [false, true] {
                let attributes = "memcachedNodes=\"\(nodes)\" sessionBackupAsync=\"\(async)\""
                let node1 = try await AppNode.start(route: "node1", attributes)
                defer { node1.kill() }
                let node2 = try await AppNode.start(route: "node2", attributes)
                defer { node2.kill() }
                var answer = try await node1.get("/count", cookie: nil)
                for _ in 0..<2 { answer = try await node1.get("/count", cookie: answer.cookie) }
                if async {
                    let window = try #require(try await reader.waitFor(answer.id, count: 3))
                    print("sticky \(kind), sessionBackupAsync=true: the change was in the store \(window) after the response")
                } else {
                    #expect(try await reader.count(answer.id) == 3, "written before the response")
                }
                await node1.stop()
                let taken = try await node2.get("/count", cookie: answer.cookie)
                #expect(taken.count == 4)
                #expect(taken.id.hasSuffix(".node2") && taken.id.hasPrefix(String(answer.id.prefix(SessionID.randomLength))))
            }
            await reader.shutdown()
        }
    }

    /// A store node dies (SIGKILL) or hangs (SIGSTOP) under load: no request fails, counts go on
    /// from memory, the sessions of that node move to the other one (a new cookie), and once it is
    /// back nothing is lost.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds, ["kill", "stop"])
    func aDeadStoreNodeFailsNoRequestAndLosesNothing(kind: StoreServerProcess.Kind, failure: String) async throws {
        try await StoreServerProcess.with(kind) { a in
            try await StoreServerProcess.with(kind) { b in
                let nodes = "\(Self.entry(kind, "n1", a)),\(Self.entry(kind, "n2", b))"
                let app = try await AppNode.start(route: "node1", "memcachedNodes=\"\(nodes)\" operationTimeout=\"200\"")
                defer { app.kill() }
                var sessions: [(count: Int, id: String, cookie: String?)] = []
                for _ in 0..<20 { sessions.append(try await app.get("/count", cookie: nil)) }
                #expect(sessions.contains { $0.id.contains("-n1.") }, "some sessions on n1")
                if failure == "kill" { a.kill() } else { await a.suspend() }
                for round in 2...7 {
                    for index in sessions.indices {
                        let answer = try await app.get(round % 2 == 0 ? "/count" : "/read", cookie: sessions[index].cookie)
                        #expect(answer.count == (round + 2) / 2, "round \(round), session \(index)")
                        sessions[index] = answer
                    }
                    if round == 2 { try await Task.sleep(for: .milliseconds(300)) }  // the failed writes have timed out
                }
                #expect(sessions.allSatisfy { $0.id.contains("-n2.") }, "relocated to the node that answers: \(sessions.map(\.id))")
                if failure == "kill" { try await a.restart() } else { a.resume() }
                let reader = try StoreReader(nodes)
                for session in sessions {
                    #expect(try await reader.waitFor(session.id, count: 4) != nil, "in the store: \(session.id)")
                }
                await reader.shutdown()
            }
        }
    }

    /// SIGTERM right after 100 sessions changed: every change is in the store after the exit.
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func sigtermWritesEveryPendingChange() async throws {
        try await Self.withOneAppNode(.redis()) { _, app, reader in
            var sessions: [(cookie: String?, id: String)] = []
            for _ in 0..<100 {
                let answer = try await app.get("/count", cookie: nil)
                sessions.append((answer.cookie, answer.id))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for session in sessions {
                    group.addTask {
                        let count = try await app.get("/count", cookie: session.cookie).count
                        #expect(count == 2)
                    }
                }
                try await group.waitForAll()
            }
            await app.stop(SIGTERM)
            #expect(!app.process.isRunning && app.process.terminationStatus == 0)
            var stored = 0
            for session in sessions {
                if try await reader.count(session.id) == 2 { stored += 1 }
            }
            #expect(stored == 100)
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable))
    func anIdleResidentSessionExpiresInMemoryAndInTheStore() async throws {
        try await Self.withOneAppNode(.memcached(), "maxInactiveInterval=\"1\"") { _, app, reader in
            let first = try await app.get("/count", cookie: nil)
            #expect(try await reader.waitFor(first.id, count: 1) != nil)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(try await reader.count(first.id) == nil, "gone from the store")
            let later = try await app.get("/count", cookie: first.cookie)
            #expect(later.count == 1 && later.id != first.id, "gone from memory: a new session")
        }
    }
}

/// The resident set of a sticky node is bounded: the least recently used sessions leave memory
/// (their copy is in the store) and load back intact.
@Suite(.capturedLog) struct StickyResidentSetTests {
    /// Sessions created, and the bound (`STICKY_SESSIONS=100000 STICKY_BOUND=10000` for the figure
    /// in the README; the defaults keep the suite quick).
    static let sessions = ProcessInfo.processInfo.environment["STICKY_SESSIONS"].flatMap { Int($0) } ?? 2_000
    static let bound = ProcessInfo.processInfo.environment["STICKY_BOUND"].flatMap { Int($0) } ?? 200

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func memoryStaysBoundedAndEvictedSessionsLoadBack() async throws {
        try await StickySessionTests.withOneAppNode(.redis(), "residentSessionLimit=\"\(Self.bound)\"") { server, app, _ in
            let pid = app.process.processIdentifier
            let start = try ProcessUsage.residentBytes(of: pid)
            /// Creates `count` sessions from 4 clients; returns their cookies.
            func create(_ count: Int) async throws -> [String] {
                try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var cookies: [String] = []
                            for _ in 0..<count / 4 { cookies.append(try #require(try await app.get("/count", cookie: nil).cookie)) }
                            return cookies
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            let first = try await create(Self.bound)
            let atBound = try ProcessUsage.residentBytes(of: pid)
            _ = try await create(Self.sessions - Self.bound)
            let end = try ProcessUsage.residentBytes(of: pid)
            let perSession = (atBound - start) / Self.bound
            print(
                "sticky resident set: \(Self.sessions) sessions over a bound of \(Self.bound): RSS \(start >> 20) MiB at start, \(atBound >> 20) MiB at the bound, \(end >> 20) MiB at the end (about \(perSession) bytes per resident session)"
            )
            // Nine times as many sessions again cost a fraction of what the first bound did: the
            // evicted ones left memory (allocator slack and the table's capacity remain).
            #expect(end - atBound < (atBound - start) / 2 + (8 << 20), "RSS grew \((end - atBound) >> 20) MiB after the bound")
            // The first sessions were evicted long ago: each is read from the store, intact.
            let before = try await server.sessionCommandCount()
            for cookie in first.prefix(50) { #expect(try await app.get("/read", cookie: cookie).count == 1) }
            #expect(try await server.sessionCommandCount() - before == 50, "evicted: one store read each")
            // Now they are resident again: read with no store command.
            let again = try await server.sessionCommandCount()
            for cookie in first.prefix(50) { #expect(try await app.get("/read", cookie: cookie).count == 1) }
            #expect(try await server.sessionCommandCount() == again, "the sessions read last stay resident")
        }
    }
}
