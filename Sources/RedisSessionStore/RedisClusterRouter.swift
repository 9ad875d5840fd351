import Logging
import NIOCore
import SessionManager
import SessionStoreNIO
import Synchronization

/// The routing to a Redis Cluster: each command goes to the master of its key's hash slot.
///
/// - **Slot map.** Read with `CLUSTER SLOTS` from any node that answers (the masters known, then
///   the seeds) at start, every ``refreshInterval``, and soon after anything suggests it changed.
/// - **Redirects.** `MOVED` updates the map for that slot at once (and asks for a refresh, as a
///   moved slot rarely moves alone); `ASK` (a slot in migration) resends the command once to the
///   target after `ASKING`; `TRYAGAIN` retries shortly. At most ``maximumRedirects`` per command.
///   A batch (commands of one session sent back to back) that is redirected part way resends the
///   rest one command at a time, each from the slot's master (see the batch `send`).
/// - **Failover.** A master that cannot be reached makes the command fail at once and asks for a
///   refresh; once the cluster has promoted a replica, the refreshed map sends the slot's commands
///   there, with no restart.
/// - **Availability.** A failure to reach one master while the cluster answers is
///   ``StoreClientError/Code/partUnavailable`` (the node stays up: its other slots work); only when no
///   node of the cluster answered the last refresh is it an outage of the node.
/// - **Connections.** One ``NodeConnectionPool`` per master, as for a single server.
final class RedisClusterRouter: RedisRouting {
    /// The longest a slot map is kept without a refresh.
    static let refreshInterval: Duration = .seconds(5)
    /// The shortest time between two refreshes asked for by failures or redirects.
    static let refreshSpacing: Duration = .milliseconds(100)
    /// Redirects followed for one command before it fails.
    static let maximumRedirects = 5

    let url: RedisClusterURL
    private let configuration: StoreClientConfiguration
    /// TLS for every node of the cluster (seeds and the addresses the slot map gives), or `nil`.
    private let tls: StoreTLSClient?
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let allocator = ByteBufferAllocator()

    private struct State {
        var map = RedisSlotMap() {
            didSet { masterPools = [] }
        }
        var pools: [RedisAddress: NodeConnectionPool<RedisValue>] = [:]
        /// The pools of ``map``'s masters by index, filled as commands need them: a command finds
        /// its pool without hashing an address (emptied whenever the map changes).
        var masterPools: [NodeConnectionPool<RedisValue>?] = []
        /// Whether a node answered the last refresh (see the type's availability note).
        var reachable = true
        var shutDown = false
    }
    private let state = Mutex(State())
    /// Pools of masters gone from the slot map, shut down by ``run()``.
    private let retiredPools = RetiredPools<RedisValue>()
    private let watch = TopologyWatch(interval: refreshInterval, spacing: refreshSpacing)
    private let moved = Atomic<Int>(0)
    private let asked = Atomic<Int>(0)

    init(url: RedisClusterURL, tls: StoreTLSClient?, configuration: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.tls = tls
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The `MOVED` and `ASK` replies followed so far.
    var redirects: (moved: Int, ask: Int) { (moved.load(ordering: .relaxed), asked.load(ordering: .relaxed)) }

    var commandsFromOtherThreads: Int {
        state.withLock { $0.pools.values.reduce(0) { $0 + $1.commandsFromOtherThreads } }
    }

    // MARK: Sending

    /// The usual case without arrays: the map knows the slot's master and it answers without a
    /// redirect. Otherwise the command is sent again, following redirects (a redirected command
    /// did not run).
    func send(_ command: ByteBuffer, key: String) async throws -> RedisValue {
        let slot = RedisSlotMap.slot(of: key)
        if let (address, pool) = lookUp(slot) {
            let reply: RedisValue
            do {
                reply = try await pool.send(command)
            } catch let error as StoreClientError where error.failureKind == .unreachable {
                throw unreachable(address, slot: slot, error)
            }
            if case .error = reply, RedisRedirect(reply) != nil {
                // Followed below.
            } else {
                return reply
            }
        }
        return try await sendFollowingRedirects([command], slot: slot)[0]
    }

    /// A batch goes whole to the slot's master. When a reply is a redirect, the commands before it
    /// ran; it and the ones after it are sent again **one at a time, in order, each from the slot's
    /// master**, each following its own redirects: during a migration the keys of one session may
    /// sit on both nodes (a lock created on the target, the session not moved yet), and a read
    /// must still come after the lock it follows. A `WAIT` travels with the command before it, as
    /// it concerns that command's connection.
    func send(_ commands: [ByteBuffer], key: String) async throws -> [RedisValue] {
        let slot = RedisSlotMap.slot(of: key)
        let (address, pool) = try await target(of: slot)
        let got: [RedisValue]
        do {
            got = try await pool.send(commands)
        } catch let error as StoreClientError where error.failureKind == .unreachable {
            throw unreachable(address, slot: slot, error)
        }
        guard let index = got.firstIndex(where: { RedisRedirect($0) != nil }) else { return got }
        var replies = Array(got[..<index])
        var position = index
        while position < commands.count {
            var group = [commands[position]]
            if position + 1 < commands.count, RedisCommand.isWait(commands[position + 1]) { group.append(commands[position + 1]) }
            replies += try await sendFollowingRedirects(group, slot: slot)
            position += group.count
        }
        return replies
    }

    /// Sends `group` (a command, maybe with its `WAIT`) to the slot's master and follows `MOVED`,
    /// `ASK` and `TRYAGAIN` until a reply that is none of them, at most ``maximumRedirects`` times.
    private func sendFollowingRedirects(_ group: [ByteBuffer], slot: Int) async throws -> [RedisValue] {
        var (address, pool) = try await target(of: slot)
        var asking = false
        var redirects = 0
        while true {
            let got: [RedisValue]
            do {
                // ASKING holds for the next command only.
                got = asking ? Array(try await pool.send([askingCommand] + group).dropFirst()) : try await pool.send(group)
            } catch let error as StoreClientError where error.failureKind == .unreachable {
                throw unreachable(address, slot: slot, error)
            }
            asking = false
            guard let redirect = RedisRedirect(got[0]) else { return got }
            redirects += 1
            guard redirects <= Self.maximumRedirects else {
                refreshSoon()
                throw StoreClientError(.partUnavailable, "Redis Cluster \(url): slot \(slot) still redirected after \(Self.maximumRedirects) redirects")
            }
            switch redirect {
            case .moved(let movedSlot, let to):
                moved.add(1, ordering: .relaxed)
                address = Self.resolve(to, from: address)
                pool = state.withLock { state in
                    state.map.assign(movedSlot, to: address)
                    return connections(to: address, in: &state)
                }
                refreshSoon()
            case .ask(_, let to):
                asked.add(1, ordering: .relaxed)
                address = Self.resolve(to, from: address)
                pool = state.withLock { connections(to: address, in: &$0) }
                asking = true
            case .tryAgain:
                try await Task.sleep(for: .milliseconds(10 * redirects))
            case .clusterDown:
                refreshSoon()
                throw StoreClientError(.partUnavailable, "Redis Cluster \(url): \(got[0])")
            }
        }
    }

    private var askingCommand: ByteBuffer { RedisCommand.encode("ASKING", allocator: allocator) }

    /// A redirect naming no host (`MOVED 3999 :6381`, a node that does not know its address) means
    /// the host of the node that sent it.
    private static func resolve(_ address: RedisAddress, from sender: RedisAddress) -> RedisAddress {
        address.host.isEmpty ? RedisAddress(host: sender.host, port: address.port) : address
    }

    /// The master of `slot` and its pool. A slot without a master (no map yet: a request before
    /// ``run()`` read it, or the cluster was away) waits for a refresh under way, or refreshes the
    /// map itself (``TopologyWatch/settle(until:lookingWith:)``).
    func subscriptionServer(for channel: String) async throws -> RedisURL {
        url.server(try await target(of: RedisSlotMap.slot(of: channel)).0)
    }

    private func target(of slot: Int) async throws -> (RedisAddress, NodeConnectionPool<RedisValue>) {
        var found = lookUp(slot)
        if found == nil {
            try await watch.settle(until: .now + configuration.operationTimeout) { await refresh() }
            found = lookUp(slot)
        }
        guard let found else {
            watch.request()
            throw failure(.partUnavailable, "Redis Cluster \(url): no master known for slot \(slot)")
        }
        return found
    }

    private func lookUp(_ slot: Int) -> (RedisAddress, NodeConnectionPool<RedisValue>)? {
        state.withLock { state in
            guard let index = state.map.masterIndex(of: slot) else { return nil }
            let master = state.map.masters[index]
            if index < state.masterPools.count, let pool = state.masterPools[index] { return (master, pool) }
            let pool = connections(to: master, in: &state)
            if state.masterPools.count <= index { state.masterPools += Array(repeating: nil, count: index + 1 - state.masterPools.count) }
            state.masterPools[index] = pool
            return (master, pool)
        }
    }

    /// A failure to reach `address`: the map is refreshed soon (a replica may have been promoted).
    private func unreachable(_ address: RedisAddress, slot: Int, _ error: StoreClientError) -> StoreClientError {
        // A pool shut down while the store runs was retired by a new map (its master lost its
        // slots): like any unreachable master, only this command fails.
        if error.code == .shutDown && state.withLock({ $0.shutDown }) { return error }
        refreshSoon()
        return failure(.partUnavailable, "Redis Cluster \(url): master \(address) of slot \(slot) not reachable: \(error.message)", otherwise: error)
    }

    /// `code` while the cluster answers; once no node answered the last refresh, an outage
    /// (`otherwise`, or ``StoreClientError/Code/nodeDown``).
    private func failure(_ code: StoreClientError.Code, _ message: String, otherwise: StoreClientError? = nil) -> StoreClientError {
        if state.withLock({ $0.reachable }) { return StoreClientError(code, message) }
        return otherwise ?? StoreClientError(.nodeDown, message + " (no node of the cluster answers)")
    }

    private func refreshSoon() { watch.request() }

    /// The pool of a cluster node, created on first use.
    private func connections(to address: RedisAddress, in state: inout State) -> NodeConnectionPool<RedisValue> {
        if let pool = state.pools[address] { return pool }
        let pool = RedisServerConnector.pool(url.server(address), tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        state.pools[address] = pool
        return pool
    }

    // MARK: Topology

    /// What one refresh found.
    enum RefreshOutcome: Equatable {
        /// A node gave a slot map.
        case refreshed
        /// Every node that answered refused `CLUSTER SLOTS` (cluster support disabled): the
        /// configuration can never work. The first refusal.
        case notACluster(String)
        /// No node answered, or the nodes that did have no slots assigned yet.
        case unavailable(String)
    }

    /// Reads the slot map from the first node that gives one: the known masters, then the seeds.
    /// Run through ``watch`` (which records when it ran).
    @discardableResult
    private func refresh() async -> RefreshOutcome {
        let candidates: [(RedisAddress, NodeConnectionPool<RedisValue>)] = state.withLock { state in
            var seen = Set<RedisAddress>()
            return (state.map.masters + url.seeds).filter { seen.insert($0).inserted }.map { ($0, connections(to: $0, in: &state)) }
        }
        var refusal: String?
        var problem = "no node answered"
        for (address, pool) in candidates {
            let reply: RedisValue
            do {
                reply = try await pool.send(RedisCommand.encode("CLUSTER", "SLOTS", allocator: allocator))
            } catch {
                problem = "\(address): \(error)"
                continue
            }
            if case .error(let message) = reply {
                refusal = refusal ?? "\(address) refused CLUSTER SLOTS: \(message)"
                continue
            }
            do {
                let map = try RedisSlotMap(clusterSlots: reply, asked: address)
                guard !map.masters.isEmpty else {
                    problem = "\(address) has no slots assigned yet"
                    refusal = nil
                    continue
                }
                install(map)
                return .refreshed
            } catch {
                problem = "\(address): \(error)"
            }
        }
        state.withLock { $0.reachable = false }
        if let refusal, problem == "no node answered" || candidates.count == 1 { return .notACluster(refusal) }
        return .unavailable(refusal ?? problem)
    }

    /// Puts a new map in place; pools of nodes no longer masters (a failed master, a slot's former
    /// owner) are closed, seeds kept.
    private func install(_ map: RedisSlotMap) {
        let (changed, retired): (Bool, [NodeConnectionPool<RedisValue>]) = state.withLock { state in
            let changed = state.map != map
            state.map = map
            state.reachable = true
            let keep = Set(map.masters + url.seeds)
            let retired = state.pools.filter { !keep.contains($0.key) }
            for address in retired.keys { state.pools[address] = nil }
            return (changed, Array(retired.values))
        }
        if changed {
            logger.info(
                "Redis Cluster slot map",
                metadata: ["sm.node": "\(url)", "sm.masters": "\(map.masters.map(\.description).joined(separator: ","))", "sm.complete": "\(map.coversAllSlots)"]
            )
        }
        for pool in retired { retiredPools.retire(pool) }
    }

    /// Reads the map at start: a cluster whose nodes all refuse `CLUSTER SLOTS` stops the service;
    /// an unreachable one is logged (it may come up) and its commands fail until it does. Then keeps
    /// the map current until cancelled: every ``refreshInterval``, and within a few milliseconds of
    /// a redirect or an unreachable master (at most every ``refreshSpacing``).
    func run() async throws {
        switch await watch.look({ await refresh() }) {
        case .refreshed: break
        case .notACluster(let why):
            throw StoreClientError(.serverError, "Redis Cluster \(url) cannot be used: \(why) (is cluster-enabled set on that server?)")
        case .unavailable(let why):
            logger.warning("Redis Cluster not reachable at start; commands fail until it is", metadata: ["sm.node": "\(url)", "sm.error": "\(why)"])
        }
        var wasReachable = state.withLock { $0.reachable }
        async let retiring: Void = retiredPools.run()
        await watch.keepCurrent {
            let outcome = await refresh()
            let reachable = outcome == .refreshed
            if reachable != wasReachable {
                // A state change, logged once.
                if reachable {
                    logger.notice("Redis Cluster reachable again", metadata: ["sm.node": "\(url)"])
                } else if case .unavailable(let why) = outcome {
                    logger.warning("Redis Cluster not reachable", metadata: ["sm.node": "\(url)", "sm.error": "\(why)"])
                }
                wasReachable = reachable
            }
        }
        await shutdown()
        await retiring
    }

    func shutdown() async {
        let pools = state.withLock { state in
            state.shutDown = true
            return Array(state.pools.values)
        }
        for pool in pools { await pool.shutdown() }
        await retiredPools.shutDownAll()
    }
}
