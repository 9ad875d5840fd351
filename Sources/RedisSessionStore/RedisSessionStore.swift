import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// A ``SessionStore`` on Redis (≥ 6.2): one server, a Redis Cluster, or the master Sentinel names.
/// SwiftNIO owns the sockets, hiredis reads the replies, and ``RedisCommand`` writes the commands
/// (see there why not hiredis).
///
/// One round trip per operation: `GETEX key PX ms` reads and slides the expiry, `SET key value PX ms`
/// writes, `SET … NX PX` adds, `DEL` deletes, `PEXPIRE` touches. Commands are pipelined on a few
/// connections per event loop with `operationTimeout` as each one's deadline; a connection
/// authenticates (`AUTH`) and selects its database (`SELECT`) before its first command.
///
/// Where a command goes is the routing's business (``RedisClusterRouter``, ``RedisSentinelRouter``):
/// the keys of one session share a hash tag (``SessionID/storeKey(prefix:)``), so the commands of one
/// operation always go to one server.
public final class RedisSessionStore: SessionStore, NoticeCarrier {
    /// The node as configured, password masked.
    public let name: String
    private let routing: any RedisRouting
    /// TLS of every connection (one context for the node's connections), or `nil` for plaintext.
    private let tls: StoreTLSClient?
    private let allocator = ByteBufferAllocator()
    private let eventLoopGroup: any EventLoopGroup
    private let clientConfiguration: StoreClientConfiguration
    private let logger: Logger
    /// Replicas that must acknowledge each write (`WAIT`), 0 for none.
    private let replicaAcknowledgements: Int
    /// How long a `WAIT` may take: three quarters of the operation timeout, so its answer (how many
    /// replicas acknowledged) arrives before the command's own deadline.
    private let waitMilliseconds: Int

    /// Commands sent from a thread other than their connection's event loop (see
    /// ``NodeConnectionPool/commandsFromOtherThreads``): 0 when every caller runs on the group's loops.
    public var commandsFromOtherThreads: Int { routing.commandsFromOtherThreads }

    /// A store on one server; connections open on first use (``run()`` opens one at start to report
    /// a wrong password or database at once).
    /// - Parameter replicaAcknowledgements: replicas that must acknowledge each session write
    ///   before it counts as done (Redis `WAIT`); 0, the default, waits for none.
    public convenience init(
        url: RedisURL,
        configuration: StoreClientConfiguration = .init(),
        replicaAcknowledgements: Int = 0,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSessionStore")
    ) {
        let tls = StoreTLSClient.forNode(usingTLS: url.tls, configuration, logger: logger)
        self.init(
            name: url.description,
            routing: SingleRedisServer(url: url, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger),
            tls: tls,
            configuration: configuration,
            replicaAcknowledgements: replicaAcknowledgements,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
    }

    /// A store on a Redis Cluster: the slot map is read from a seed at ``run()`` and kept current
    /// (see ``RedisClusterRouter``).
    public convenience init(
        cluster: RedisClusterURL,
        configuration: StoreClientConfiguration = .init(),
        replicaAcknowledgements: Int = 0,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSessionStore")
    ) {
        let tls = StoreTLSClient.forNode(usingTLS: cluster.tls, configuration, logger: logger)
        let router = RedisClusterRouter(url: cluster, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(name: cluster.description, routing: router, tls: tls, configuration: configuration, replicaAcknowledgements: replicaAcknowledgements, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// A store on the master that Redis Sentinel names: found at ``run()`` and followed through
    /// failovers (see ``RedisSentinelRouter``).
    public convenience init(
        sentinel: RedisSentinelURL,
        configuration: StoreClientConfiguration = .init(),
        replicaAcknowledgements: Int = 0,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSessionStore")
    ) {
        let tls = StoreTLSClient.forNode(usingTLS: sentinel.tls, configuration, logger: logger)
        let router = RedisSentinelRouter(url: sentinel, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(name: sentinel.description, routing: router, tls: tls, configuration: configuration, replicaAcknowledgements: replicaAcknowledgements, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    private init(
        name: String,
        routing: any RedisRouting,
        tls: StoreTLSClient?,
        configuration: StoreClientConfiguration,
        replicaAcknowledgements: Int,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.clientConfiguration = configuration
        self.name = name
        self.routing = routing
        self.tls = tls
        self.cluster = routing as? RedisClusterRouter
        self.logger = logger
        self.replicaAcknowledgements = max(0, replicaAcknowledgements)
        self.waitMilliseconds = max(1, Self.milliseconds(configuration.operationTimeout) * 3 / 4)
    }

    /// The cluster router, for its redirect counts; `nil` unless a cluster store.
    private let cluster: RedisClusterRouter?

    /// The redirections a cluster store followed (`MOVED`, `ASK`); zeros for other stores.
    public var clusterRedirects: (moved: Int, ask: Int) { cluster?.redirects ?? (0, 0) }

    /// Sends a command; a Redis error reply becomes ``StoreClientError/Code/serverError`` with the
    /// server's message (`NOAUTH` as `authenticationFailed`).
    /// The command is routed by its second argument (the key, for the commands a store sends).
    public func command(_ arguments: [[UInt8]]) async throws -> RedisValue {
        let key = arguments.count > 1 ? String(decoding: arguments[1], as: UTF8.self) : ""
        return try await send(RedisCommand.encode(arguments, allocator: allocator), key: key)
    }

    private func send(_ command: ByteBuffer, key: String) async throws -> RedisValue {
        try checked(try await routing.send(command, key: key))
    }

    /// A reply, or its error as a ``StoreClientError``.
    private func checked(_ reply: RedisValue) throws -> RedisValue {
        if case .error(let message) = reply {
            if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                throw StoreClientError(.authenticationFailed, "Redis \(name): \(message)")
            }
            throw StoreClientError(.serverError, "Redis \(name): \(message)")
        }
        return reply
    }

    /// `VERB key [value] option… PX ms`, written straight into one buffer.
    private func command(_ verb: String, _ key: String, value: [UInt8]? = nil, options: [String] = [], ttl: Duration) -> ByteBuffer {
        var command = RedisCommand(
            arguments: 4 + (value == nil ? 0 : 1) + options.count,
            capacity: key.utf8.count + (value?.count ?? 0) + 32,
            allocator: allocator
        )
        command.append(verb)
        command.append(key)
        if let value { command.append(bytes: value) }
        for option in options { command.append(option) }
        command.append("PX")
        command.append(Self.milliseconds(ttl))
        return command.buffer
    }

    private static func milliseconds(_ ttl: Duration) -> Int {
        let (seconds, attoseconds) = ttl.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? {
        switch try await send(command("GETEX", key, ttl: ttl), key: key) {
        case .bulk(let bytes): return bytes
        case .null: return nil
        case let other: throw unexpected(other, "GETEX")
        }
    }

    /// `SET key value PX ms`; with ``replicaAcknowledgements``, followed on the same connection by
    /// `WAIT n ms`, and done only once that many replicas have the write.
    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        guard try await stored(command("SET", key, value: value, ttl: ttl), key: key, "SET") else { throw unexpected(.null, "SET") }
    }

    private func written(_ reply: RedisValue) throws {
        guard case .status("OK") = reply else { throw unexpected(reply, "SET") }
    }

    /// Sends a `SET`: its reply, `true` for `OK` and `false` for nil (a condition, `XX`, not met);
    /// with ``replicaAcknowledgements``, a `WAIT` follows on the same connection, and a write that
    /// happened counts only once that many replicas have it.
    private func stored(_ write: ByteBuffer, key: String, _ name: String) async throws -> Bool {
        let reply: RedisValue
        var acknowledgement: RedisValue?
        if replicaAcknowledgements > 0 {
            let replies = try await routing.send([write, waitCommand()], key: key)
            reply = try checked(replies[0])
            acknowledgement = replies[1]
        } else {
            reply = try await send(write, key: key)
        }
        switch reply {
        case .status("OK"):
            if let acknowledgement { try acknowledged(acknowledgement) }
            return true
        case .null: return false
        case let other: throw unexpected(other, name)
        }
    }

    /// `WAIT <replicas> <milliseconds>`.
    private func waitCommand() -> ByteBuffer {
        RedisCommand.wait(replicas: replicaAcknowledgements, milliseconds: waitMilliseconds, allocator: allocator)
    }

    /// A `WAIT` reply: fewer replicas than asked means the write may not survive a failover, so
    /// it is not reported as done (the request gets `503`, and the client retries).
    private func acknowledged(_ reply: RedisValue) throws {
        guard case .integer(let replicas) = try checked(reply) else { throw unexpected(reply, "WAIT") }
        guard replicas >= replicaAcknowledgements else {
            throw StoreClientError(
                .serverError,
                "Redis \(name): only \(replicas) of \(replicaAcknowledgements) replicas acknowledged the write within \(waitMilliseconds) ms"
            )
        }
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        switch try await send(command("SET", key, value: value, options: ["NX"], ttl: ttl), key: key) {
        case .status("OK"): return true
        case .null: return false
        case let other: throw unexpected(other, "SET NX")
        }
    }

    public func delete(_ key: String) async throws {
        switch try await send(RedisCommand.encode("DEL", key, allocator: allocator), key: key) {
        case .integer: return
        case let other: throw unexpected(other, "DEL")
        }
    }

    /// A touch sent at once, whatever the reconnect backoff (see ``SessionStore/probe(key:)``).
    public func probe(key: String) async throws {
        routing.retryNow()
        _ = try await touch(key, ttl: .seconds(1))
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        var command = RedisCommand(arguments: 3, capacity: key.utf8.count + 24, allocator: allocator)
        command.append("PEXPIRE")
        command.append(key)
        command.append(Self.milliseconds(ttl))
        switch try await send(command.buffer, key: key) {
        case .integer(let changed): return changed == 1
        case let other: throw unexpected(other, "PEXPIRE")
        }
    }

    /// `SET <lock> <token> NX PX <ms>` and `GETEX <key> PX <ms>` back to back on one connection:
    /// Redis runs the read after the lock, and the caller waits one round trip. When the lock is
    /// held by someone else, the read's answer is dropped (its only effect was a touch). The lock's
    /// key shares the session's hash tag, so both go to one server in a cluster.
    public func lockAndRead(lock key: String, token: [UInt8], lockTTL: Duration, read readKey: String, ttl: Duration) async throws -> LockedRead {
        let replies = try await routing.send(
            [command("SET", key, value: token, options: ["NX"], ttl: lockTTL), command("GETEX", readKey, ttl: ttl)],
            key: key
        )
        switch try checked(replies[0]) {
        case .status("OK"): break
        case .null: return .busy
        case let other: throw unexpected(other, "SET NX (lock)")
        }
        switch try checked(replies[1]) {
        case .bulk(let bytes): return .acquired(StoreLock(key: key, token: token), value: bytes)
        case .null: return .acquired(StoreLock(key: key, token: token), value: nil)
        case let other: throw unexpected(other, "GETEX")
        }
    }

    /// Compare-and-extend: one script resets the lock's time to live only while it holds our token.
    public func extendLock(_ lock: StoreLock, ttl: Duration) async throws -> StoreLock? {
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
        switch try await send(compareScript(script, lock, milliseconds: Self.milliseconds(ttl)), key: lock.key) {
        case .integer(let extended): return extended == 1 ? lock : nil
        case let other: throw unexpected(other, "EVAL (extend lock)")
        }
    }

    /// `EVAL <script> 1 <lock key> <token> [<milliseconds>]`: a script that acts on the lock only
    /// while it holds our token.
    private func compareScript(_ script: String, _ lock: StoreLock, milliseconds: Int? = nil) -> ByteBuffer {
        var command = RedisCommand(
            arguments: milliseconds == nil ? 5 : 6,
            capacity: script.utf8.count + lock.key.utf8.count + lock.token.count,
            allocator: allocator
        )
        command.append("EVAL")
        command.append(script)
        command.append(1)
        command.append(lock.key)
        command.append(bytes: lock.token)
        if let milliseconds { command.append(milliseconds) }
        return command.buffer
    }

    /// Compare-and-delete: one script deletes the lock only while it holds our token, so a lock that
    /// expired and was taken by another request is never released by the old holder.
    public func unlock(_ lock: StoreLock) async throws -> Bool {
        try Self.unlocked(try await send(unlockCommand(lock), key: lock.key))
    }

    /// `SET`, any `WAIT`, and the compare-and-delete of the lock back to back on one connection.
    public func set(_ key: String, value: [UInt8], ttl: Duration, thenUnlock lock: StoreLock) async throws -> Bool {
        var commands = [command("SET", key, value: value, ttl: ttl)]
        if replicaAcknowledgements > 0 { commands.append(waitCommand()) }
        commands.append(unlockCommand(lock))
        let replies = try await routing.send(commands, key: key)
        try written(try checked(replies[0]))
        if replicaAcknowledgements > 0 { try acknowledged(replies[1]) }
        return try Self.unlocked(try checked(replies[replies.count - 1]))
    }

    /// `SET key value XX PX ms` (and any `WAIT`, as ``set(_:value:ttl:)``): only over an existing key.
    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try await stored(command("SET", key, value: value, options: ["XX"], ttl: ttl), key: key, "SET XX")
    }

    /// `GET`: Redis compares the bytes themselves (``setIfUnchanged(_:value:ttl:expected:)``).
    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        switch try await send(RedisCommand.encode("GET", key, allocator: allocator), key: key) {
        case .bulk(let bytes): return VersionedValue(bytes: bytes)
        case .null: return nil
        case let other: throw unexpected(other, "GET")
        }
    }

    /// One script compares the key's value with the bytes read and, only when equal (or both
    /// absent), sets or deletes it.
    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        let script = """
            local v = redis.call('GET', KEYS[1])
            if ARGV[1] == '0' then if v then return 0 end elseif v ~= ARGV[2] then return 0 end
            if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5]) else redis.call('DEL', KEYS[1]) end
            return 1
            """
        let arguments: [[UInt8]] = [
            Array("EVAL".utf8), Array(script.utf8), Array("1".utf8), Array(key.utf8),
            Array((expected == nil ? "0" : "1").utf8), expected?.bytes ?? [],
            Array((value == nil ? "0" : "1").utf8), value ?? [], Array(String(Self.milliseconds(ttl)).utf8),
        ]
        switch try await send(RedisCommand.encode(arguments, allocator: allocator), key: key) {
        case .integer(let done): return done == 1
        case let other: throw unexpected(other, "EVAL (compare-and-set)")
        }
    }

    // MARK: Notices

    /// `PUBLISH channel message`.
    package func publish(_ channel: String, _ message: String) async throws {
        switch try await send(RedisCommand.encode("PUBLISH", channel, message, allocator: allocator), key: channel) {
        case .integer: return
        case let other: throw unexpected(other, "PUBLISH")
        }
    }

    /// A connection of its own (a subscribed connection carries only messages), logged in as the
    /// pool's are, `SUBSCRIBE`d; reconnected a second after it fails or closes.
    package func listen(_ channel: String, onSubscribed: @escaping @Sendable () async -> Void, onMessage: @escaping @Sendable (String) -> Void) async {
        let messageKind = Array("message".utf8)
        while !Task.isCancelled {
            do {
                let server = try await routing.subscriptionServer(for: channel)
                let connection = try await RedisServerConnector.connect(server, tls: tls, on: eventLoopGroup.next(), timeout: clientConfiguration.connectTimeout)
                await connection.receiveUnsolicited { reply in
                    // ["message", channel, payload].
                    guard case .array(let fields) = reply, fields.count == 3, case .bulk(let kind) = fields[0], kind == messageKind,
                        case .bulk(let payload) = fields[2]
                    else { return }
                    onMessage(String(decoding: payload, as: UTF8.self))
                }
                _ = try await connection.send(RedisCommand.encode("SUBSCRIBE", channel, allocator: allocator), timeout: clientConfiguration.operationTimeout)
                logger.debug("listening for invalidations", metadata: ["sm.channel": "\(channel)"])
                await onSubscribed()
                try await withTaskCancellationHandler {
                    try await connection.channel.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
            } catch {
                logger.debug("invalidation channel unavailable", metadata: ["sm.error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func unlockCommand(_ lock: StoreLock) -> ByteBuffer {
        compareScript("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", lock)
    }

    private static func unlocked(_ reply: RedisValue) throws -> Bool {
        guard case .integer(let deleted) = reply else {
            throw StoreClientError(.protocolError, "Redis answered EVAL (unlock) with \(reply)")
        }
        return deleted == 1
    }

    /// Loads the TLS files and connects at start (files that cannot be used, a wrong password, a seed that is no cluster node or a master name no
    /// sentinel knows stops the service with a clear error; an unreachable server is only logged:
    /// it may come up later); then keeps the connections until cancelled.
    public func run() async throws {
        try tls?.prepare(node: name)
        try await routing.run()
    }

    /// Closes the connections now; later commands fail with `shutDown`.
    public func shutdown() async {
        await routing.shutdown()
    }

    private func unexpected(_ reply: RedisValue, _ command: String) -> StoreClientError {
        StoreClientError(.protocolError, "Redis \(name) answered \(command) with \(reply)")
    }
}

extension RedisSessionStore: ReportsReachability {
    /// A single server's connection attempts report to the manager's notion of this node being
    /// down. A Redis Cluster or a Sentinel group has its own (one master away is not the node).
    package func reportReachability(to observer: any StoreReachabilityObserver) {
        routing.reportReachability(to: observer)
    }
}
