import Foundation
import RedisSessionStore
import SessionManager
import SessionStoreNIO
import SessionTesting

/// A real Redis Cluster for a test: `redis-server` processes with `cluster-enabled` on free
/// loopback ports, joined by `redis-cli --cluster create`, with an admin connection to each node.
final class RedisTestCluster: Sendable {
    /// Every node, in creation order (the first `masters` were created as masters).
    let nodes: [StoreServerProcess]
    /// One single-server client per node, for admin commands (`CLUSTER …`, `MIGRATE`, `DBSIZE`).
    private let admins: [RedisSessionStore]

    /// TLS of every node (`--tls-cluster yes`, TLS-only ports), if started with it.
    let tls: StoreServerProcess.TLS?

    private init(nodes: [StoreServerProcess], tls: StoreServerProcess.TLS?) {
        self.nodes = nodes
        self.tls = tls
        self.admins = nodes.map {
            RedisSessionStore(
                url: RedisURL(host: "127.0.0.1", port: $0.port, tls: tls != nil),
                configuration: StoreClientConfiguration(operationTimeout: .seconds(5), tls: StoreTLS(caFile: tls?.certificates.caFile))
            )
        }
    }

    /// The client TLS settings that trust the cluster's certificates (the CA of ``tls``).
    var clientTLS: StoreTLS { StoreTLS(caFile: tls?.certificates.caFile) }
    /// `redis-cluster://` or, with TLS, `rediss-cluster://`, with every node as a seed.
    var url: String { (tls == nil ? "redis-cluster://" : "rediss-cluster://") + seeds }

    /// Whether `redis-server` and `redis-cli` can run (or `CI` is set: then a missing one fails).
    static var isRunnable: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil || (ChildProcess.find("redis-server") != nil && ChildProcess.find("redis-cli") != nil)
    }

    /// `masters` masters with `replicas` replicas each, every slot assigned and every node agreeing.
    static func start(
        masters: Int = 3,
        replicas: Int = 0,
        nodeTimeoutMilliseconds: Int = 1000,
        tls: StoreServerProcess.TLS? = nil
    ) async throws -> RedisTestCluster {
        var nodes: [StoreServerProcess] = []
        do {
            for _ in 0..<(masters * (1 + replicas)) {
                nodes.append(try await StoreServerProcess.start(.redisClusterNode(nodeTimeoutMilliseconds: nodeTimeoutMilliseconds), tls: tls))
            }
            guard let cli = ChildProcess.find("redis-cli") else { throw ClientError("redis-cli is not installed: run Scripts/install-dependencies.sh test") }
            let created = try await ChildProcess.run(
                cli,
                ["--cluster", "create"] + nodes.map(\.address) + ["--cluster-replicas", "\(replicas)", "--cluster-yes"] + (tls?.cliArguments ?? [])
            )
            guard created.status == 0 else { throw ClientError("redis-cli --cluster create failed: \(created.output)") }
            let cluster = RedisTestCluster(nodes: nodes, tls: tls)
            try await cluster.waitUntilConsistent(masters: masters, replicas: replicas)
            return cluster
        } catch {
            for node in nodes { node.kill() }
            throw error
        }
    }

    /// `host:port+host:port…` of every node, for `redis-cluster://`.
    var seeds: String { nodes.map(\.address).joined(separator: "+") }

    /// Sends a command to node `index` and returns its reply (a Redis error throws).
    @discardableResult
    func command(_ index: Int, _ arguments: String...) async throws -> RedisValue {
        try await admins[index].command(arguments.map { Array($0.utf8) })
    }

    /// A bulk or status reply as text.
    func text(_ index: Int, _ arguments: String...) async throws -> String {
        switch try await admins[index].command(arguments.map { Array($0.utf8) }) {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case let other: throw ClientError("\(arguments) answered \(other)")
        }
    }

    /// The node's cluster id.
    func id(_ index: Int) async throws -> String { try await text(index, "CLUSTER", "MYID") }

    /// Keys on node `index`.
    func keyCount(_ index: Int) async throws -> Int {
        guard case .integer(let count) = try await command(index, "DBSIZE") else { throw ClientError("DBSIZE") }
        return count
    }

    /// Whether node `index` is a master now (`ROLE`).
    func isMaster(_ index: Int) async -> Bool {
        guard case .array(let fields)? = try? await command(index, "ROLE"), case .bulk(let role) = fields.first else { return false }
        return role == Array("master".utf8)
    }

    /// The index of the node serving `slot` as master, as node `asking` sees it.
    func master(ofSlot slot: Int, asking: Int = 0) async throws -> Int {
        guard case .array(let ranges) = try await command(asking, "CLUSTER", "SLOTS") else { throw ClientError("CLUSTER SLOTS") }
        for case .array(let fields) in ranges {
            guard case .integer(let start) = fields[0], case .integer(let end) = fields[1], (start...end).contains(slot),
                case .array(let master) = fields[2], case .integer(let port) = master[1], let index = nodes.firstIndex(where: { $0.port == port })
            else { continue }
            return index
        }
        throw ClientError("slot \(slot) has no master")
    }

    /// The slot of a key, as the cluster computes it.
    func slot(of key: String) async throws -> Int {
        guard case .integer(let slot) = try await command(0, "CLUSTER", "KEYSLOT", key) else { throw ClientError("CLUSTER KEYSLOT") }
        return slot
    }

    /// Moves `slot` from master `source` to master `target` the way `redis-cli --cluster reshard`
    /// does, pausing `pause` while the slot is half migrated (its keys on the target, the slot still
    /// the source's: clients get `ASK`), then assigns it to the target on every master (clients of
    /// the source get `MOVED`).
    func migrate(slot: Int, from source: Int, to target: Int, masters: [Int], pause: Duration) async throws {
        try await beginMigration(slot: slot, from: source, to: target)
        try await moveKeys(slot: slot, from: source, to: target)
        try await Task.sleep(for: pause)
        try await finishMigration(slot: slot, to: target, masters: masters)
    }

    /// Marks `slot` migrating from `source` and importing on `target`: from now on the source
    /// serves the slot's keys it still has and answers `ASK` for the others.
    func beginMigration(slot: Int, from source: Int, to target: Int) async throws {
        try await command(target, "CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", try await id(source))
        try await command(source, "CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", try await id(target))
    }

    /// Moves the keys of `slot` still on `source` to `target` (`MIGRATE`).
    func moveKeys(slot: Int, from source: Int, to target: Int) async throws {
        while true {
            guard case .array(let keys) = try await command(source, "CLUSTER", "GETKEYSINSLOT", "\(slot)", "100") else { throw ClientError("GETKEYSINSLOT") }
            let names = keys.compactMap { key -> String? in
                if case .bulk(let bytes) = key { return String(decoding: bytes, as: UTF8.self) }
                return nil
            }
            guard !names.isEmpty else { return }
            let arguments = ["MIGRATE", "127.0.0.1", "\(nodes[target].port)", "", "0", "5000", "KEYS"] + names
            _ = try await admins[source].command(arguments.map { Array($0.utf8) })
        }
    }

    /// Assigns `slot` to `target` on every master (clients of the others get `MOVED`).
    func finishMigration(slot: Int, to target: Int, masters: [Int]) async throws {
        let targetID = try await id(target)
        for index in [target] + masters.filter({ $0 != target }) {
            try await command(index, "CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID)
        }
    }

    /// Waits until every node says `cluster_state:ok` and knows `masters` masters covering all slots.
    /// With `replicas`, also until each master has that many replicas in sync (`WAIT` counts only those).
    func waitUntilConsistent(masters: Int, replicas: Int = 0, within limit: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var ok = true
            for index in nodes.indices where nodes[index].isRunning {
                let info = (try? await text(index, "CLUSTER", "INFO")) ?? ""
                if !info.contains("cluster_state:ok") || !info.contains("cluster_size:\(masters)") || !info.contains("cluster_slots_assigned:16384") {
                    ok = false
                    break
                }
                if replicas > 0, await isMaster(index) {
                    let replication = (try? await text(index, "INFO", "replication")) ?? ""
                    let online = replication.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("slave") && $0.contains("state=online") }.count
                    if online < replicas {
                        ok = false
                        break
                    }
                }
            }
            if ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ClientError("the Redis Cluster did not become consistent within \(limit)")
    }

    func shutdown() async {
        for admin in admins { await admin.shutdown() }
        for node in nodes { node.kill() }
    }
}
