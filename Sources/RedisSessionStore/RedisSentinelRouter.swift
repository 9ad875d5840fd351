import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO
import Synchronization

/// The routing to the master of a Redis replication group that Sentinel watches.
///
/// - **Discovery.** The sentinels are asked in turn `SENTINEL get-master-addr-by-name`; the address
///   named is used only once the server itself says `ROLE` master, so a command never goes to a
///   replica (a sentinel may lag behind a failover).
/// - **Following a failover.** Discovery runs again soon after a command could not reach the
///   master, after a `READONLY` reply (the master was demoted), on a `+switch-master` message (a
///   subscription on every sentinel), and every ``checkInterval`` in any case.
/// - **Availability.** While no master is known (none found yet, or the known one is unreachable
///   during a failover) commands fail at once with an outage error: the node is down.
final class RedisSentinelRouter: RedisRouting {
    /// The longest the master is trusted without asking the sentinels again.
    static let checkInterval: Duration = .seconds(5)
    /// The shortest time between two discoveries asked for by failures.
    static let discoverySpacing: Duration = .milliseconds(100)

    let url: RedisSentinelURL
    private let configuration: StoreClientConfiguration
    /// TLS for the sentinels and the master, or `nil`.
    private let tls: StoreTLSClient?
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let allocator = ByteBufferAllocator()
    private let sentinels: [(address: RedisAddress, pool: NodeConnectionPool<RedisValue>)]

    private struct State {
        var master: RedisAddress?
        var pool: NodeConnectionPool<RedisValue>?
    }
    private let state = Mutex(State())
    /// Pools of replaced masters, shut down by ``run()``.
    private let retiredPools = RetiredPools<RedisValue>()
    private let watch = TopologyWatch(interval: checkInterval, spacing: discoverySpacing)

    init(url: RedisSentinelURL, tls: StoreTLSClient?, configuration: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.tls = tls
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        // Sentinels are asked without the master's login.
        self.sentinels = url.sentinels.map { address in
            (address, RedisServerConnector.pool(url.sentinel(address), tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger))
        }
    }

    var commandsFromOtherThreads: Int { state.withLock { $0.pool?.commandsFromOtherThreads ?? 0 } }

    // MARK: Sending

    func send(_ command: ByteBuffer, key: String) async throws -> RedisValue {
        let (master, pool) = try await current()
        let reply: RedisValue
        do {
            reply = try await pool.send(command)
        } catch let error as StoreClientError where error.failureKind == .unreachable {
            discoverSoon()
            throw error
        }
        try checkRole(reply, master)
        return reply
    }

    func send(_ commands: [ByteBuffer], key: String) async throws -> [RedisValue] {
        let (master, pool) = try await current()
        let replies: [RedisValue]
        do {
            replies = try await pool.send(commands)
        } catch let error as StoreClientError where error.failureKind == .unreachable {
            discoverSoon()
            throw error
        }
        for reply in replies { try checkRole(reply, master) }
        return replies
    }

    /// The master in use and its pool. While none is known, a discovery under way (the one at
    /// start) is waited for, or one is run (``TopologyWatch/settle(until:lookingWith:)``).
    func subscriptionServer(for channel: String) async throws -> RedisURL {
        url.master(try await current().0)
    }

    private func current() async throws -> (RedisAddress, NodeConnectionPool<RedisValue>) {
        func known() -> (RedisAddress, NodeConnectionPool<RedisValue>)? {
            state.withLock { state in state.master.flatMap { master in state.pool.map { (master, $0) } } }
        }
        var current = known()
        if current == nil {
            try await watch.settle(until: .now + configuration.operationTimeout) { await discover() }
            current = known()
        }
        guard let current else {
            watch.request()
            throw StoreClientError(.nodeDown, "Redis Sentinel \(url): no master of '\(url.masterName)' known")
        }
        return current
    }

    /// A `READONLY` reply: the server was demoted to a replica. The write did not happen; the
    /// master is looked up again.
    private func checkRole(_ reply: RedisValue, _ master: RedisAddress) throws {
        guard case .error(let message) = reply, message.hasPrefix("READONLY") else { return }
        discoverSoon()
        throw StoreClientError(.nodeDown, "Redis Sentinel \(url): \(master) is a replica now (\(message))")
    }

    private func discoverSoon() { watch.request() }

    // MARK: Discovery

    /// What one discovery found.
    enum DiscoveryOutcome: Equatable {
        /// A master confirmed by `ROLE`.
        case found(RedisAddress)
        /// Every sentinel that answered does not know the master name: the configuration can
        /// never work.
        case unknownName
        /// No sentinel answered, or the master named is not reachable or not a master yet.
        case unavailable(String)
    }

    /// Asks the sentinels for the master and checks it; a master found replaces the one in use.
    /// Run through ``watch`` (which records when it ran).
    @discardableResult
    private func discover() async -> DiscoveryOutcome {
        var problem = "no sentinel answered"
        var answered = false
        var unknown = true
        var tried = Set<RedisAddress>()
        for sentinel in sentinels {
            let reply: RedisValue
            do {
                reply = try await sentinel.pool.send(RedisCommand.encode("SENTINEL", "get-master-addr-by-name", url.masterName, allocator: allocator))
            } catch {
                problem = "sentinel \(sentinel.address): \(error)"
                continue
            }
            answered = true
            guard case .array(let fields) = reply, fields.count == 2, case .bulk(let host) = fields[0], case .bulk(let port) = fields[1],
                let number = Int(String(decoding: port, as: UTF8.self))
            else {
                if case .null = reply {
                    problem = "sentinel \(sentinel.address) does not know a master named '\(url.masterName)'"
                } else {
                    unknown = false
                    problem = "sentinel \(sentinel.address) answered \(reply)"
                }
                continue
            }
            unknown = false
            let candidate = RedisAddress(host: String(decoding: host, as: UTF8.self), port: number)
            guard tried.insert(candidate).inserted else { continue }
            if let pool = await verify(candidate, problem: &problem) {
                install(candidate, pool)
                return .found(candidate)
            }
        }
        if answered && unknown { return .unknownName }
        return .unavailable(problem)
    }

    /// A pool to `candidate` when it says it is a master (`ROLE`); otherwise `nil`, and `problem`
    /// says why.
    private func verify(_ candidate: RedisAddress, problem: inout String) async -> NodeConnectionPool<RedisValue>? {
        let known = state.withLock { $0.master == candidate ? $0.pool : nil }
        let pool = known ?? RedisServerConnector.pool(url.master(candidate), tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        do {
            let reply = try await pool.send(RedisCommand.encode("ROLE", allocator: allocator))
            if case .array(let fields) = reply, case .bulk(let role) = fields.first, role == Array("master".utf8) { return pool }
            problem = "\(candidate) is not a master (ROLE: \(reply))"
        } catch {
            problem = "master \(candidate) not reachable: \(error)"
        }
        if known == nil { await pool.shutdown() }
        return nil
    }

    /// Puts a confirmed master in place; a change is logged once, and the old connections closed.
    private func install(_ master: RedisAddress, _ pool: NodeConnectionPool<RedisValue>) {
        let (changed, retired): (Bool, NodeConnectionPool<RedisValue>?) = state.withLock { state in
            guard state.master != master else { return (false, nil) }
            defer {
                state.master = master
                state.pool = pool
            }
            return (true, state.pool)
        }
        guard changed else { return }
        logger.notice("Redis Sentinel master in use", metadata: ["sm.node": "\(url)", "sm.master": "\(master)"])
        if let retired { retiredPools.retire(retired) }
    }

    /// Finds the master at start: sentinels that all answer they do not know the master name stop
    /// the service; none answering, or no master reachable, is logged (it may come up) and the node
    /// is down until a master is found. Then follows failovers until cancelled.
    func run() async throws {
        switch await watch.look({ await discover() }) {
        case .found: break
        case .unknownName:
            throw StoreClientError(.serverError, "Redis Sentinel \(url): no sentinel knows a master named '\(url.masterName)'")
        case .unavailable(let why):
            logger.warning("Redis Sentinel master not found at start; commands fail until it is", metadata: ["sm.node": "\(url)", "sm.error": "\(why)"])
        }
        await withTaskGroup(of: Void.self) { group in
            for sentinel in sentinels {
                group.addTask { await self.watch(sentinel.address) }
            }
            group.addTask { await self.keepCurrent() }
            group.addTask { await self.retiredPools.run() }
            await group.next()
            group.cancelAll()
        }
        await shutdown()
    }

    /// Discovers again when asked to (at most every ``discoverySpacing``) and every ``checkInterval``;
    /// a master lost is logged once per outage, not per attempt.
    private func keepCurrent() async {
        var missing = false
        await watch.keepCurrent {
            let found = if case .found = await discover() { true } else { false }
            if !found && !missing {
                logger.warning("Redis Sentinel master not reachable; commands fail until a master is found", metadata: ["sm.node": "\(url)"])
            }
            missing = !found
        }
    }

    /// Subscribes to `+switch-master` on one sentinel (reconnecting every second while it is away):
    /// a switch of our master makes the next discovery immediate.
    private func watch(_ sentinel: RedisAddress) async {
        while !Task.isCancelled {
            do {
                try await SentinelSubscription.run(sentinel, channel: "+switch-master", eventLoopGroup: eventLoopGroup) { message in
                    // "<name> <old ip> <old port> <new ip> <new port>"
                    if message.split(separator: " ").first.map(String.init) == self.url.masterName { self.discoverSoon() }
                }
            } catch {
                // The sentinel is away; discovery asks the others meanwhile.
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func shutdown() async {
        let pool = state.withLock { $0.pool }
        await pool?.shutdown()
        await retiredPools.shutDownAll()
        for sentinel in sentinels { await sentinel.pool.shutdown() }
    }
}
