import Foundation
import Logging
import RedisSessionStore
import SessionManager
import SessionStoreNIO
import SessionTesting
import Testing

/// The Redis store on a master watched by real sentinels (issue 16): discovery, a failover under
/// load, the durability option, and sentinels that are wrong or away.
@Suite(.capturedLog, .serialized) struct RedisSentinelTests {
    typealias Cluster = RedisClusterTests

    static func withSentinels<R>(tls: Bool = false, _ body: (RedisTestSentinels) async throws -> R) async throws -> R {
        let group = try await RedisTestSentinels.start(tls: tls ? StoreServerProcess.TLS(certificates: try await TestCertificates.shared()) : nil)
        do {
            let result = try await body(group)
            await group.shutdown()
            return result
        } catch {
            await group.shutdown()
            throw error
        }
    }

    /// Also with TLS (`rediss-sentinel://`): the sentinels and the master are reached with TLS.
    @Test(.enabled(if: RedisTestSentinels.isRunnable && TestCertificates.isRunnable), arguments: [(false, false), (true, false), (false, true)])
    func theStoreFollowsThePromotedReplica(durable: Bool, tls: Bool) async throws {
        try await Self.withSentinels(tls: tls) { group in
            try await Cluster.withSample(group.url, { manager in
                if tls { manager.tls = group.clientTLS }
                manager.operationTimeout = .milliseconds(500)
                manager.waitForReplicas = durable ? 1 : 0
            }) { port, _ in
                let cookies = try await Cluster.createSessions(20, port: port, clients: 5)
                let stop = Cluster.StopFlag()
                async let loads = Cluster.increment(cookies, port: port, until: stop)
                try await Task.sleep(for: .milliseconds(500))
                let killed = ContinuousClock.now
                group.servers[0].kill()
                try await Task.sleep(for: .seconds(6))
                stop.set()
                let results = try await loads
                // Durable writes need a replica in sync, and the promoted replica has none (the old
                // master is not restarted: restarted empty, before Sentinel has made it a replica it
                // could itself be promoted, and everything would be lost, whatever WAIT said). So only
                // the non-durable run must have its writes served again; reads are served either way
                // (the counts below are read).
                var recovery: Duration? = .zero
                for (index, load) in results.enumerated() {
                    guard let again = load.servedAgain(after: killed) else {
                        if !durable { Issue.record("session \(index) failed after the kill and is served again") }
                        recovery = nil
                        break
                    }
                    recovery = recovery.map { max($0, again) }
                }
                var role = "unknown"
                if case .array(let fields)? = try? await group.command(0, "ROLE") {
                    role = fields.compactMap { if case .bulk(let text) = $0 { String(decoding: text, as: UTF8.self) } else { nil } }.joined(separator: " ")
                }
                let slowest = results.map(\.slowest).max() ?? .zero
                print("sentinel failover (durable: \(durable), tls: \(tls)): writes served again \(recovery.map { "\($0)" } ?? "not within the run") after SIGKILL; old master now \(role); failures \(results.reduce(0) { $0 + $1.failures.count }); slowest request \(slowest)")
                #expect(await group.masterPort() == group.servers[1].port, "the replica was promoted")
                if !durable { #expect(recovery.map { $0 < .seconds(5) } == true, "served again within 5 s: \(String(describing: recovery))") }
                #expect(slowest < .milliseconds(1500), "requests in between fail fast: \(slowest)")
                #expect(results.allSatisfy { $0.failures.allSatisfy { $0 == 503 } })
                if durable {
                    for (cookie, load) in zip(cookies, results) {
                        let count = try #require(try await Cluster.count(port: port, cookie))
                        #expect(count >= load.acknowledged + 1, "no acknowledged increment is lost")
                        #expect(count <= load.acknowledged + load.failures.count + 1)
                    }
                }
            }
        }
    }

    @Test(.enabled(if: RedisTestSentinels.isRunnable))
    func aMasterNameNoSentinelKnowsStopsTheStart() async throws {
        try await StoreServerProcess.with(.redis()) { master in
            try await StoreServerProcess.with(.sentinel(masterName: "known", masterPort: master.port, quorum: 1)) { sentinel in
                let store = RedisSessionStore(sentinel: try RedisSentinelURL(parsing: "redis-sentinel://\(sentinel.address)/unknown"))
                do {
                    try await store.run()
                    Issue.record("run() must fail")
                } catch {
                    #expect("\(error)".contains("no sentinel knows a master named 'unknown'"), "\(error)")
                }
            }
        }
    }

    @Test(.enabled(if: RedisTestSentinels.isRunnable))
    func aSentinelDownAtStartIsLoggedAndTheNodeServesOnceItIsUp() async throws {
        try await StoreServerProcess.with(.redis()) { master in
            try await StoreServerProcess.with(.sentinel(masterName: "m", masterPort: master.port, quorum: 1)) { sentinel in
                sentinel.kill()
                let capture = LogCapture()
                let store = RedisSessionStore(
                    sentinel: try RedisSentinelURL(parsing: "redis-sentinel://\(sentinel.address)/m"),
                    configuration: .init(operationTimeout: .milliseconds(300)),
                    logger: capture.logger()
                )
                try await Cluster.whileRunning(store) {
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(!capture.records(.warning, containing: "Redis Sentinel master not found at start").isEmpty)
                    do {
                        try await store.set("k", value: [1], ttl: .seconds(10))
                        Issue.record("no master is known yet")
                    } catch let error as StoreClientError {
                        #expect(error.failureKind == .unreachable, "no master known: the node is down (\(error))")
                    }
                    try await sentinel.restart()
                    #expect(try await Cluster.eventuallyWrites(store, "k"), "the master is found once a sentinel answers, without a restart")
                    #expect(capture.records(.notice, containing: "Redis Sentinel master in use").count == 1)
                }
            }
        }
    }
}
