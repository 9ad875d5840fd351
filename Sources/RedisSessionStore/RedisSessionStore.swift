import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// A ``SessionStore`` on one Redis server (≥ 6.2): SwiftNIO owns the sockets, hiredis reads the
/// replies, and ``RedisCommand`` writes the commands (see there why not hiredis).
///
/// One round trip per operation: `GETEX key PX ms` reads and slides the expiry, `SET key value PX ms`
/// writes, `SET … NX PX` adds, `DEL` deletes, `PEXPIRE` touches. Commands are pipelined on a few
/// connections per event loop with `operationTimeout` as each one's deadline; a connection
/// authenticates (`AUTH`) and selects its database (`SELECT`) before its first command.
public final class RedisSessionStore: SessionStore {
    /// The server, password masked.
    public let url: RedisURL
    private let pool: NodeConnectionPool<RedisValue>
    private let allocator = ByteBufferAllocator()
    private let logger: Logger

    /// Creates a store; connections open on first use (``run()`` opens one at start to report a
    /// wrong password or database at once).
    /// Commands sent from a thread other than their connection's event loop (see
    /// ``NodeConnectionPool/commandsFromOtherThreads``): 0 when every caller runs on the group's loops.
    public var commandsFromOtherThreads: Int { pool.commandsFromOtherThreads }

    public init(
        url: RedisURL,
        configuration: StoreClientConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSessionStore")
    ) {
        self.url = url
        self.logger = logger
        self.pool = NodeConnectionPool(node: url.description, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) {
            eventLoop, timeout in
            try await Self.connect(url, on: eventLoop, timeout: timeout)
        }
    }

    private static func connect(_ url: RedisURL, on eventLoop: any EventLoop, timeout: Duration) async throws -> StoreConnection<RedisValue> {
        let connection: StoreConnection<RedisValue>
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: url.host, port: url.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = PipelineHandler<RedisValue>()
                        try channel.pipeline.syncOperations.addHandler(RedisReplyDecoder())
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return StoreConnection(channel: channel, handler: handler)
                    }
                }
        } catch {
            throw StoreClientError(.connectFailed, "cannot connect to Redis at \(url): \(error)")
        }
        let channel = connection.channel
        do {
            let allocator = channel.allocator
            if let password = url.password {
                var arguments = [Array("AUTH".utf8)]
                if let user = url.user { arguments.append(Array(user.utf8)) }
                arguments.append(Array(password.utf8))
                let reply = try await connection.send(RedisCommand.encode(arguments, allocator: allocator), timeout: timeout)
                if case .error(let message) = reply {
                    throw StoreClientError(.authenticationFailed, "Redis at \(url) refused AUTH: \(message)")
                }
            }
            if url.database != 0 {
                let reply = try await connection.send(RedisCommand.encode("SELECT", String(url.database), allocator: allocator), timeout: timeout)
                if case .error(let message) = reply {
                    throw StoreClientError(.serverError, "Redis at \(url) refused SELECT \(url.database): \(message)")
                }
            }
        } catch {
            try? await channel.close()
            throw error
        }
        return connection
    }

    /// Sends a command; a Redis error reply becomes ``StoreClientError/Code/serverError`` with the
    /// server's message (`NOAUTH` as `authenticationFailed`).
    public func command(_ arguments: [[UInt8]]) async throws -> RedisValue {
        try await send(RedisCommand.encode(arguments, allocator: allocator))
    }

    private func send(_ command: ByteBuffer) async throws -> RedisValue {
        try checked(try await pool.send(command))
    }

    /// A reply, or its error as a ``StoreClientError``.
    private func checked(_ reply: RedisValue) throws -> RedisValue {
        if case .error(let message) = reply {
            if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                throw StoreClientError(.authenticationFailed, "Redis \(url): \(message)")
            }
            throw StoreClientError(.serverError, "Redis \(url): \(message)")
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
        switch try await send(command("GETEX", key, ttl: ttl)) {
        case .bulk(let bytes): return bytes
        case .null: return nil
        case let other: throw unexpected(other, "GETEX")
        }
    }

    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        switch try await send(command("SET", key, value: value, ttl: ttl)) {
        case .status("OK"): return
        case let other: throw unexpected(other, "SET")
        }
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        switch try await send(command("SET", key, value: value, options: ["NX"], ttl: ttl)) {
        case .status("OK"): return true
        case .null: return false
        case let other: throw unexpected(other, "SET NX")
        }
    }

    public func delete(_ key: String) async throws {
        switch try await send(RedisCommand.encode("DEL", key, allocator: allocator)) {
        case .integer: return
        case let other: throw unexpected(other, "DEL")
        }
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        var command = RedisCommand(arguments: 3, capacity: key.utf8.count + 24, allocator: allocator)
        command.append("PEXPIRE")
        command.append(key)
        command.append(Self.milliseconds(ttl))
        switch try await send(command.buffer) {
        case .integer(let changed): return changed == 1
        case let other: throw unexpected(other, "PEXPIRE")
        }
    }

    /// `SET <lock> <token> NX PX <ms>` and `GETEX <key> PX <ms>` back to back on one connection:
    /// Redis runs the read after the lock, and the caller waits one round trip. When the lock is
    /// held by someone else, the read's answer is dropped (its only effect was a touch).
    public func lockAndRead(lock key: String, token: [UInt8], lockTTL: Duration, read readKey: String, ttl: Duration) async throws -> LockedRead {
        let (locked, read) = try await pool.send(
            command("SET", key, value: token, options: ["NX"], ttl: lockTTL),
            then: command("GETEX", readKey, ttl: ttl)
        )
        switch try checked(locked) {
        case .status("OK"): break
        case .null: return .busy
        case let other: throw unexpected(other, "SET NX (lock)")
        }
        switch try checked(read) {
        case .bulk(let bytes): return .acquired(StoreLock(key: key, token: token), value: bytes)
        case .null: return .acquired(StoreLock(key: key, token: token), value: nil)
        case let other: throw unexpected(other, "GETEX")
        }
    }

    /// Compare-and-extend: one script resets the lock's time to live only while it holds our token.
    public func extendLock(_ lock: StoreLock, ttl: Duration) async throws -> StoreLock? {
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
        switch try await send(compareScript(script, lock, milliseconds: Self.milliseconds(ttl))) {
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
        try Self.unlocked(try checked(try await pool.send(unlockCommand(lock))))
    }

    /// `SET` and the compare-and-delete of the lock back to back on one connection.
    public func set(_ key: String, value: [UInt8], ttl: Duration, thenUnlock lock: StoreLock) async throws -> Bool {
        let (written, released) = try await pool.send(command("SET", key, value: value, ttl: ttl), then: unlockCommand(lock))
        switch try checked(written) {
        case .status("OK"): break
        case let other: throw unexpected(other, "SET")
        }
        return try Self.unlocked(try checked(released))
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

    /// Opens one connection at start so that a wrong password or database stops the service with
    /// a clear error (an unreachable server is only logged: it may come up later); then keeps the
    /// connections until graceful shutdown.
    public func run() async throws {
        do {
            _ = try await pool.connection()
        } catch let error as StoreClientError where error.code == .authenticationFailed || error.code == .serverError {
            throw error
        } catch {
            logger.warning("Redis not reachable at start; commands fail until it is", metadata: ["sm.node": "\(url)", "sm.error": "\(error)"])
        }
        try await pool.run()
    }

    /// Closes the connections now; later commands fail with `shutDown`.
    public func shutdown() async {
        await pool.shutdown()
    }

    private func unexpected(_ reply: RedisValue, _ command: String) -> StoreClientError {
        StoreClientError(.protocolError, "Redis \(url) answered \(command) with \(reply)")
    }
}
