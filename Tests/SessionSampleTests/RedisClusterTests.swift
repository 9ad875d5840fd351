import Foundation
import Logging
import RedisSessionStore
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionStoreNIO
import SessionStores
import SessionTesting
import Synchronization
import Testing

/// The Redis store on a real Redis Cluster (issue 16): slot routing, resharding under load (`ASK`,
/// `MOVED`), a master's failover, and the durability option, through the sample app in this process.
@Suite(.capturedLog, .serialized) struct RedisClusterTests {
    /// The sample app on a server in this process, non-sticky, on the store nodes `nodes`;
    /// `body` gets the port and the Redis store of the first node.
    static func withSample<R: Sendable>(
        _ nodes: String,
        logger: Logger = { var l = Logger(label: "redis-cluster-test"); l.logLevel = .debug; return l }(),
        _ configure: (inout ManagerConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (Int, RedisSessionStore) async throws -> R
    ) async throws -> R {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        configuration.contexts[0].manager.memcachedNodes = try StoreNode.parseList(nodes)
        configuration.contexts[0].manager.sticky = false
        configure(&configuration.contexts[0].manager)
        let made = Mutex<RedisSessionStore?>(nil)
        let server = try HTTPServer(
            configuration: configuration,
            apps: SampleServer.apps(),
            nodes: { context in
                let nodes = try SessionStores.makeNodes(for: context.manager, logger: logger)
                // The /status context of the sample's configuration has a memory store.
                if let store = nodes.first?.store as? RedisSessionStore { made.withLock { $0 = store } }
                return nodes
            },
            logger: logger
        )
        guard let store = made.withLock({ $0 }) else { throw ClientError("no Redis store was made") }
        return try await LiveServer.with(server) { port in try await body(port, store) }
    }

    /// Runs `body` with a started cluster and shuts it down afterwards.
    static func withCluster<R>(
        masters: Int = 3,
        replicas: Int = 0,
        tls: Bool = false,
        _ body: (RedisTestCluster) async throws -> R
    ) async throws -> R {
        let serverTLS = tls ? StoreServerProcess.TLS(certificates: try await TestCertificates.shared()) : nil
        let cluster = try await RedisTestCluster.start(masters: masters, replicas: replicas, tls: serverTLS)
        do {
            let result = try await body(cluster)
            await cluster.shutdown()
            return result
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    /// `count` new sessions made by `/count` on `clients` connections: their cookies.
    static func createSessions(_ count: Int, port: Int, clients: Int = 10) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<clients {
                group.addTask {
                    try await RawHTTPClient.withConnection(port: port) { connection in
                        var cookies: [String] = []
                        for _ in stride(from: client, to: count, by: clients) {
                            let response = try await connection.get("/myapp/count")
                            guard response.status == 200, let cookie = response.cookiePair else { throw ClientError("/count answered \(response.status): \(response.body)") }
                            cookies.append(cookie)
                        }
                        return cookies
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// The session id in a `JSESSIONID=<id>` cookie.
    static func id(_ cookie: String) throws -> SessionID {
        try #require(SessionID(parsing: String(cookie.split(separator: "=", maxSplits: 1).last ?? "")))
    }

    /// The count `/read` shows for a session.
    static func count(port: Int, _ cookie: String) async throws -> Int? {
        try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", cookie)]).fields["count"].flatMap { Int($0) }
    }

    /// One client per cookie, each incrementing its own session with `/count` one request after the
    /// other until `stop` is set: per client the increments acknowledged (`200`), the other
    /// answers, the time of each `200`, and the longest request.
    struct Load: Sendable {
        var acknowledged = 0
        var failures: [Int] = []
        var served: [ContinuousClock.Instant] = []
        var failedAt: [ContinuousClock.Instant] = []

        /// How long after `killed` this client was served again: its first `200` after its first
        /// failure after `killed` (a request in flight at the kill may still be answered `200`
        /// just after it: that is no recovery). `nil`: it never failed after `killed`, or was not
        /// served again.
        func servedAgain(after killed: ContinuousClock.Instant) -> Duration? {
            guard let failed = failedAt.first(where: { $0 > killed }), let first = served.first(where: { $0 > failed }) else { return nil }
            return first - killed
        }
        var slowest: Duration = .zero
    }

    /// A flag a test raises to end a load.
    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    static func increment(_ cookies: [String], port: Int, until stop: StopFlag) async throws -> [Load] {
        try await withThrowingTaskGroup(of: (Int, Load).self) { group in
            for (index, cookie) in cookies.enumerated() {
                group.addTask {
                    try await RawHTTPClient.withConnection(port: port) { connection in
                        var load = Load()
                        while !stop.isSet {
                            let start = ContinuousClock.now
                            let response = try await connection.get("/myapp/count", headers: [("Cookie", cookie)])
                            load.slowest = max(load.slowest, .now - start)
                            if response.status == 200 {
                                load.acknowledged += 1
                                load.served.append(.now)
                            } else {
                                load.failures.append(response.status)
                                load.failedAt.append(.now)
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        return (index, load)
                    }
                }
            }
            var loads = Array(repeating: Load(), count: cookies.count)
            for try await (index, load) in group { loads[index] = load }
            return loads
        }
    }

    /// Runs `store` (its start and its topology watch) while `body` runs.
    static func whileRunning(_ store: RedisSessionStore, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            try await body()
        }
    }

    /// Whether a write to `key` works within 10 s (tried every 100 ms).
    static func eventuallyWrites(_ store: RedisSessionStore, _ key: String) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? await store.set(key, value: [1], ttl: .seconds(10))) != nil { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test(.enabled(if: RedisTestCluster.isRunnable))
    func sessionsSpreadOverEveryMasterAndEachSessionsKeysShareOneSlot() async throws {
        try await Self.withCluster { cluster in
            let seed = cluster.nodes[0].address
            let cookies = try await Self.withSample("redis-cluster://\(seed)", { $0.lockingMode = .all }) { port, store in
                let cookies = try await Self.createSessions(1000, port: port)
                // A locked change sends the lock, the read, the write and the unlock of one
                // session to one server: keys in different slots would be redirected.
                for cookie in cookies.prefix(50) {
                    #expect(try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]).fields["count"] == "2")
                }
                #expect(store.clusterRedirects.moved == 0 && store.clusterRedirects.ask == 0, "\(store.clusterRedirects)")
                return cookies
            }
            #expect(Set(cookies).count == 1000)
            var keys: [Int] = []
            for index in 0..<3 { keys.append(try await cluster.keyCount(index)) }
            #expect(keys.allSatisfy { $0 > 100 }, "the sessions spread over every master: \(keys)")
            #expect(keys.reduce(0, +) == 1000, "one key per session, the locks released: \(keys)")
            for cookie in cookies.prefix(20) {
                let key = try Self.id(cookie).storeKey(prefix: "")
                let slot = try await cluster.slot(of: key)
                #expect(try await cluster.slot(of: "bak:" + key) == slot)
                #expect(try await cluster.slot(of: "lock:" + key) == slot)
            }
        }
    }

    @Test(.enabled(if: RedisTestCluster.isRunnable))
    func reshardingUnderLoadFailsNoRequestAndLosesNoIncrement() async throws {
        try await Self.withCluster { cluster in
            try await Self.withSample("redis-cluster://" + cluster.seeds) { port, store in
                let cookies = try await Self.createSessions(50, port: port)
                var slots: [Int: Int] = [:]  // slot -> owner
                for cookie in cookies {
                    let slot = try await cluster.slot(of: try Self.id(cookie).storeKey(prefix: ""))
                    slots[slot] = try await cluster.master(ofSlot: slot)
                }
                let stop = StopFlag()
                async let loads = Self.increment(cookies, port: port, until: stop)
                do {
                    try await Task.sleep(for: .milliseconds(200))
                    for (slot, owner) in slots {
                        try await cluster.migrate(slot: slot, from: owner, to: (owner + 1) % 3, masters: [0, 1, 2], pause: .milliseconds(40))
                    }
                    try await Task.sleep(for: .milliseconds(200))
                } catch {
                    stop.set()
                    _ = try? await loads
                    throw error
                }
                stop.set()
                let results = try await loads
                let failures = results.flatMap(\.failures)
                #expect(failures.isEmpty, "no request fails: \(failures)")
                for (cookie, load) in zip(cookies, results) {
                    #expect(try await Self.count(port: port, cookie) == load.acknowledged + 1, "every increment is kept")
                }
                for (slot, owner) in slots {
                    #expect(try await cluster.master(ofSlot: slot) == (owner + 1) % 3)
                }
                let redirects = store.clusterRedirects
                #expect(redirects.moved > 0 && redirects.ask > 0, "both redirects were followed: \(redirects)")
                print("resharding: \(slots.count) slots moved under load, \(results.reduce(0) { $0 + $1.acknowledged }) increments, redirects \(redirects)")
            }
        }
    }

    /// Mid-migration a session's keys sit on two nodes: its copy still on the source, its lock
    /// (a new key) on the target. The locked request takes the lock there and still reads the
    /// copy from the source, after the lock; the write and the release go each where its key is.
    @Test(.enabled(if: RedisTestCluster.isRunnable))
    func aLockedChangeDuringAMigrationReadsTheSessionWhereItIs() async throws {
        try await Self.withCluster { cluster in
            try await Self.withSample("redis-cluster://" + cluster.seeds, { $0.lockingMode = .all }) { port, store in
                let cookie = try #require(try await Self.createSessions(1, port: port, clients: 1).first)
                let key = try Self.id(cookie).storeKey(prefix: "")
                let slot = try await cluster.slot(of: key)
                let source = try await cluster.master(ofSlot: slot)
                let target = (source + 1) % 3
                try await cluster.beginMigration(slot: slot, from: source, to: target)
                for expected in 2...4 {
                    let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
                    #expect(response.status == 200 && response.fields["count"] == "\(expected)", "\(response.status) \(response.body)")
                    #expect(response.values("Set-Cookie").isEmpty, "the same session, not a new one")
                }
                #expect(store.clusterRedirects.ask >= 3, "the lock and its release went to the target: \(store.clusterRedirects)")
                try await cluster.moveKeys(slot: slot, from: source, to: target)
                try await cluster.finishMigration(slot: slot, to: target, masters: [0, 1, 2])
                #expect(try await Self.count(port: port, cookie) == 4)
            }
        }
    }

    /// Also with TLS (`rediss-cluster://`, `--tls-cluster yes`): the replica's address the
    /// cluster gives out after the failover is reached with TLS and verified like the seeds.
    @Test(.enabled(if: RedisTestCluster.isRunnable && TestCertificates.isRunnable), arguments: [(false, false), (true, false), (false, true)])
    func aKilledMastersSlotsAreServedAgainAfterItsReplicaIsPromoted(durable: Bool, tls: Bool) async throws {
        try await Self.withCluster(replicas: 1, tls: tls) { cluster in
            try await Self.withSample(cluster.url, { manager in
                if tls { manager.tls = cluster.clientTLS }
                manager.operationTimeout = .milliseconds(500)
                manager.waitForReplicas = durable ? 1 : 0
            }) { port, store in
                let cookies = try await Self.createSessions(30, port: port)
                var owners: [Int] = []
                var slots: [Int] = []
                for cookie in cookies {
                    slots.append(try await cluster.slot(of: try Self.id(cookie).storeKey(prefix: "")))
                    owners.append(try await cluster.master(ofSlot: slots[slots.count - 1]))
                }
                let victim = owners[0]
                let stop = StopFlag()
                async let loads = Self.increment(cookies, port: port, until: stop)
                try await Task.sleep(for: .milliseconds(500))
                let killed = ContinuousClock.now
                cluster.nodes[victim].kill()
                if durable {
                    // The promoted replica has no replica of its own: writes wait for one until the
                    // killed node is back (it rejoins as the new master's replica), as a supervisor
                    // would restart it.
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline, (try? await cluster.master(ofSlot: slots[0], asking: (victim + 1) % 3)) == victim {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await cluster.nodes[victim].restart()
                }
                try await Task.sleep(for: .seconds(durable ? 8 : 6))
                stop.set()
                let results = try await loads
                var recovery: Duration = .zero
                for (index, load) in results.enumerated() where owners[index] == victim {
                    let again = try #require(load.servedAgain(after: killed), "session \(index) failed after the kill and is served again")
                    recovery = max(recovery, again)
                }
                print("cluster failover (durable: \(durable), tls: \(tls)): served again \(recovery) after SIGKILL; failures \(results.reduce(0) { $0 + $1.failures.count }); slowest \(results.map(\.slowest).max() ?? .zero)")
                if !durable { #expect(recovery < .seconds(5), "served again within 5 s: \(recovery)") }
                #expect(results.allSatisfy { $0.slowest < .seconds(2) }, "failing requests fail fast")
                #expect(results.allSatisfy { $0.failures.allSatisfy { $0 == 503 } })
                for (index, load) in results.enumerated() where owners[index] != victim {
                    #expect(load.failures.isEmpty, "sessions on the other masters are not affected")
                }
                if durable {
                    for (cookie, load) in zip(cookies, results) {
                        let count = try #require(try await Self.count(port: port, cookie))
                        #expect(count >= load.acknowledged + 1, "no acknowledged increment is lost")
                        #expect(count <= load.acknowledged + load.failures.count + 1)
                    }
                }
                _ = store
            }
        }
    }

    @Test(.enabled(if: RedisTestCluster.isRunnable))
    func aSeedThatIsNoClusterNodeStopsTheStart() async throws {
        try await StoreServerProcess.with(.redis()) { plain in
            let store = RedisSessionStore(cluster: try RedisClusterURL(parsing: "redis-cluster://\(plain.address)"))
            await #expect(throws: StoreClientError.self) { try await store.run() }
            do {
                try await store.run()
            } catch {
                #expect("\(error)".contains("cluster support disabled"), "\(error)")
                #expect("\(error)".contains("cluster-enabled"), "\(error)")
            }
        }
    }

    @Test(.enabled(if: RedisTestCluster.isRunnable))
    func anUnreachableClusterIsLoggedAndServedOnceItAnswers() async throws {
        try await Self.withCluster { cluster in
            let capture = LogCapture()
            for node in cluster.nodes { node.kill() }
            let store = RedisSessionStore(
                cluster: try RedisClusterURL(parsing: "redis-cluster://\(cluster.seeds)"),
                configuration: .init(operationTimeout: .milliseconds(300)),
                logger: capture.logger()
            )
            try await Self.whileRunning(store) {
                try await Task.sleep(for: .milliseconds(300))
                #expect(!capture.records(.warning, containing: "Redis Cluster not reachable at start").isEmpty)
                await #expect(throws: StoreClientError.self) { try await store.set("{a}x", value: [1], ttl: .seconds(10)) }
                do {
                    try await store.set("{a}x", value: [1], ttl: .seconds(10))
                } catch let error as StoreClientError {
                    #expect(error.failureKind == .unreachable, "no node answers: the node is down (\(error))")
                }
                for node in cluster.nodes { try await node.restart() }
                try await cluster.waitUntilConsistent(masters: 3)
                #expect(try await Self.eventuallyWrites(store, "{a}x"), "commands work once the cluster answers, without a restart")
            }
        }
    }
}
