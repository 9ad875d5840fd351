import Foundation
import RedisSessionStore
import SessionManager
import SessionStoreNIO
import SessionTesting

/// A real Redis replication group watched by Sentinel for a test: a master, a replica and three
/// sentinels on free loopback ports, all agreeing before the test starts.
final class RedisTestSentinels: Sendable {
    static let masterName = "sessions"
    /// The servers: the master first, then the replica.
    let servers: [StoreServerProcess]
    let sentinels: [StoreServerProcess]
    private let admins: [RedisSessionStore]

    /// TLS of the servers and the sentinels (TLS-only ports, `tls-replication yes`), if any.
    let tls: StoreServerProcess.TLS?

    private init(servers: [StoreServerProcess], sentinels: [StoreServerProcess], tls: StoreServerProcess.TLS?) {
        self.servers = servers
        self.sentinels = sentinels
        self.tls = tls
        self.admins = (servers + sentinels).map {
            RedisSessionStore(
                url: RedisURL(host: "127.0.0.1", port: $0.port, tls: tls != nil),
                configuration: StoreClientConfiguration(operationTimeout: .seconds(5), tls: StoreTLS(caFile: tls?.certificates.caFile))
            )
        }
    }

    /// The client TLS settings that trust the group's certificates.
    var clientTLS: StoreTLS { StoreTLS(caFile: tls?.certificates.caFile) }
    /// `redis-sentinel://` (`rediss-sentinel://` with TLS) with every sentinel, for the master's name.
    var url: String { (tls == nil ? "redis-sentinel://" : "rediss-sentinel://") + addresses + "/" + Self.masterName }

    /// Whether `redis-server` and `redis-sentinel` can run (or `CI` is set: then a missing one fails).
    static var isRunnable: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil || (ChildProcess.find("redis-server") != nil && ChildProcess.find("redis-sentinel") != nil)
    }

    static func start(downAfterMilliseconds: Int = 1000, tls: StoreServerProcess.TLS? = nil) async throws -> RedisTestSentinels {
        var started: [StoreServerProcess] = []
        do {
            let master = try await StoreServerProcess.start(.redis(), tls: tls)
            started.append(master)
            let replica = try await StoreServerProcess.start(.redisReplica(masterPort: master.port), tls: tls)
            started.append(replica)
            var sentinels: [StoreServerProcess] = []
            for _ in 0..<3 {
                let sentinel = try await StoreServerProcess.start(
                    .sentinel(masterName: masterName, masterPort: master.port, quorum: 2, downAfterMilliseconds: downAfterMilliseconds),
                    tls: tls
                )
                started.append(sentinel)
                sentinels.append(sentinel)
            }
            let group = RedisTestSentinels(servers: [master, replica], sentinels: sentinels, tls: tls)
            try await group.waitUntilReady()
            return group
        } catch {
            for process in started { process.kill() }
            throw error
        }
    }

    /// `host:port+…` of the sentinels, for `redis-sentinel://`.
    var addresses: String { sentinels.map(\.address).joined(separator: "+") }

    /// Sends a command to server `index` (0 master, 1 replica, 2… the sentinels).
    @discardableResult
    func command(_ index: Int, _ arguments: String...) async throws -> RedisValue {
        try await admins[index].command(arguments.map { Array($0.utf8) })
    }

    /// The port of the master the first answering sentinel names.
    func masterPort() async -> Int? {
        for index in 2..<admins.count {
            if case .array(let fields)? = try? await command(index, "SENTINEL", "get-master-addr-by-name", Self.masterName),
                fields.count == 2, case .bulk(let port) = fields[1]
            {
                return Int(String(decoding: port, as: UTF8.self))
            }
        }
        return nil
    }

    /// Waits until the replica is in sync and every sentinel knows the replica and the other two
    /// sentinels (a failover needs both).
    func waitUntilReady(within limit: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var ready = true
            if case .bulk(let info)? = try? await command(1, "INFO", "replication") {
                ready = String(decoding: info, as: UTF8.self).contains("master_link_status:up")
            } else {
                ready = false
            }
            for index in 2..<admins.count where ready {
                guard case .array(let replicas)? = try? await command(index, "SENTINEL", "replicas", Self.masterName),
                    case .array(let others)? = try? await command(index, "SENTINEL", "sentinels", Self.masterName),
                    replicas.count == 1, others.count == 2
                else {
                    ready = false
                    break
                }
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ClientError("the sentinels did not see the replica and each other within \(limit)")
    }

    func shutdown() async {
        for admin in admins { await admin.shutdown() }
        for process in servers + sentinels { process.kill() }
    }
}
