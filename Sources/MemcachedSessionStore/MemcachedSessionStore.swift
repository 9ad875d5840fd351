import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO
import Synchronization

/// A ``SessionStore`` on one memcached server, over the classic text protocol.
///
/// `getAndTouch` is `gat` (memcached ≥ 1.5.3), so a read-only request costs one round trip and
/// slides the expiry; a write is one `set`. An older server answers `gat` with `ERROR` (unknown
/// command): the store then says so once in the log and reads with `get` + `touch` from then on
/// (two round trips), so memcached 1.4 still works. Commands are pipelined on a few connections per event
/// loop, each with `operationTimeout` as its deadline (see ``StoreClientConfiguration``).
public final class MemcachedSessionStore: SessionStore {
    /// `host:port` of the server.
    public let node: String
    private let pool: NodeConnectionPool<MemcachedResponse>
    private let allocator = ByteBufferAllocator()
    private let logger: Logger
    /// `false` once the server answered `gat` with `ERROR` (memcached older than 1.5.3).
    private let gatSupported = Atomic<Bool>(true)
    /// Set once a server without meta commands (older than 1.6) was reported.
    private let metaUnsupportedLogged = Atomic<Bool>(false)

    /// Commands sent from a thread other than their connection's event loop (see
    /// ``NodeConnectionPool/commandsFromOtherThreads``): 0 when every caller runs on the group's loops.
    public var commandsFromOtherThreads: Int { pool.commandsFromOtherThreads }

    /// TLS of every connection, or `nil` for plaintext.
    private let tls: StoreTLSClient?

    /// Creates a store for `host:port`; nothing connects until the first command (``run()``
    /// opens one at start to report bad TLS files or credentials at once).
    /// - Parameters:
    ///   - tls: reach the server over TLS (`memcached -Z`; `memcacheds://`), trusting and
    ///     verifying as `configuration.tls` says.
    ///   - credentials: log in with memcached's text-protocol authentication (`memcached -Y`)
    ///     on every new connection.
    public init(
        host: String,
        port: Int,
        tls: Bool = false,
        credentials: MemcachedCredentials? = nil,
        configuration: StoreClientConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "MemcachedSessionStore")
    ) {
        let node = "\(host):\(port)"
        let tlsClient = StoreTLSClient.forNode(usingTLS: tls, configuration, logger: logger)
        self.node = node
        self.logger = logger
        self.tls = tlsClient
        let connector = StoreConnector(host: host, port: port, tls: tlsClient, name: "memcached at \(node)", probe: "version")
        self.pool = NodeConnectionPool(node: node, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) {
            eventLoop, timeout in
            try await connector.open(on: eventLoop, timeout: timeout) { pipeline in
                try pipeline.addHandler(ByteToMessageHandler(MemcachedResponseDecoder()))
            } handshake: { (connection: StoreConnection<MemcachedResponse>) in
                try await Self.handshake(connection, node: node, credentials: credentials, timeout: timeout)
            }
        }
    }

    /// Logs in (with credentials) and probes with `version`.
    private static func handshake(
        _ connection: StoreConnection<MemcachedResponse>,
        node: String,
        credentials: MemcachedCredentials?,
        timeout: Duration
    ) async throws {
        let allocator = connection.channel.allocator
        if let credentials {
            let command = MemcachedCommand.authenticate(username: credentials.username, password: credentials.password, allocator: allocator)
            switch try await connection.send(command, timeout: timeout) {
            case .stored: break
            case .error(_, let message):
                throw StoreClientError(.authenticationFailed, "memcached at \(node) refused the login of '\(credentials.username)': \(message)")
            case let other:
                throw StoreClientError(.protocolError, "memcached at \(node) answered the login with \(other)")
            }
        }
        switch try await connection.send(MemcachedCommand.version(allocator: allocator), timeout: timeout) {
        case .version: return
        case .error(.client, let message) where message.contains("unauthenticated"):
            throw StoreClientError(.authenticationFailed, "memcached at \(node) requires a login (memcached -Y): set username and password")
        case let other:
            throw StoreClientError(.protocolError, "memcached at \(node) answered version with \(other)")
        }
    }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? {
        try MemcachedCommand.validate(key)
        if gatSupported.load(ordering: .relaxed) {
            switch try await pool.send(MemcachedCommand.get(key, touching: ttl, allocator: allocator)) {
            case .value(let bytes): return bytes
            case .miss: return nil
            case .error(.error, _):
                // Unknown command: a server older than 1.5.3. Fall back for good.
                if gatSupported.exchange(false, ordering: .relaxed) {
                    logger.warning(
                        "memcached does not know 'gat' (older than 1.5.3): reading with get + touch, two round trips",
                        metadata: ["sm.node": "\(node)"]
                    )
                }
            case let other: throw unexpected(other, "gat")
            }
        }
        guard let bytes = try await get(key) else { return nil }
        _ = try await touch(key, ttl: ttl)
        return bytes
    }

    /// `true` while the server supports `gat`; `false` after it answered `ERROR` (see the type's notes).
    public var supportsGat: Bool { gatSupported.load(ordering: .relaxed) }

    /// Reads a value without changing its expiry (`get`).
    public func get(_ key: String) async throws -> [UInt8]? {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.get(key, touching: nil, allocator: allocator)) {
        case .value(let bytes): return bytes
        case .miss: return nil
        case let other: throw unexpected(other, "get")
        }
    }

    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.store("set", key, value: value, ttl: ttl, allocator: allocator)) {
        case .stored: return
        case let other: throw unexpected(other, "set")
        }
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.store("add", key, value: value, ttl: ttl, allocator: allocator)) {
        case .stored: return true
        case .notStored: return false
        case let other: throw unexpected(other, "add")
        }
    }

    public func delete(_ key: String) async throws {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.delete(key, allocator: allocator)) {
        case .deleted, .notFound: return
        case let other: throw unexpected(other, "delete")
        }
    }

    /// The server's `version` line (see ``InstanceNaming``).
    package func instanceName() async throws -> String {
        switch try await pool.send(MemcachedCommand.version(allocator: allocator)) {
        case .version(let name): return name
        case let other: throw unexpected(other, "version")
        }
    }

    /// A touch sent at once, whatever the reconnect backoff (see ``SessionStore/probe(key:)``).
    public func probe(key: String) async throws {
        pool.retryNow()
        _ = try await touch(key, ttl: .seconds(1))
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.touch(key, ttl: ttl, allocator: allocator)) {
        case .touched: return true
        case .notFound: return false
        case let other: throw unexpected(other, "touch")
        }
    }

    /// The lock is a meta `add` (`ms … ME`) that returns the lock's CAS value, sent with the `gat`
    /// of the session on the same connection: one round trip. Extending and releasing compare that
    /// CAS value (`ms … C<cas>`, `md … C<cas>`), so a holder whose lock expired and was taken by
    /// another request can neither extend nor delete the new holder's lock (text-protocol
    /// `delete` could not tell). Needs memcached ≥ 1.6 (meta commands).
    public func lockAndRead(lock key: String, token: [UInt8], lockTTL: Duration, read readKey: String, ttl: Duration) async throws -> LockedRead {
        try MemcachedCommand.validate(key)
        try MemcachedCommand.validate(readKey)
        let (locked, read) = try await pool.send(
            MemcachedCommand.metaSet(key, value: token, ttl: lockTTL, mode: "E", allocator: allocator),
            then: MemcachedCommand.get(readKey, touching: ttl, allocator: allocator)
        )
        let lock: StoreLock
        switch locked {
        case .meta("HD", let cas?): lock = StoreLock(key: key, token: token, version: cas)
        case .meta("NS", _): return .busy
        case .error(.error, _):
            // Unknown command: a server older than 1.6. Said once; every lock fails until upgraded.
            if !metaUnsupportedLogged.exchange(true, ordering: .relaxed) {
                logger.error(
                    "memcached does not know meta commands (older than 1.6): lockingMode needs memcached 1.6 or later; locked requests fail",
                    metadata: ["sm.node": "\(node)"]
                )
            }
            throw unexpected(locked, "ms (lock)")
        case let other: throw unexpected(other, "ms (lock)")
        }
        switch read {
        case .value(let bytes): return .acquired(lock, value: bytes)
        case .miss: return .acquired(lock, value: nil)
        case let other:
            _ = try? await unlock(lock)
            throw unexpected(other, "gat")
        }
    }

    /// Compare-and-extend: the lock is set again with a new time to live only while its CAS value
    /// is still the one we got.
    public func extendLock(_ lock: StoreLock, ttl: Duration) async throws -> StoreLock? {
        switch try await pool.send(MemcachedCommand.metaSet(lock.key, value: lock.token, ttl: ttl, compareCAS: lock.version, allocator: allocator)) {
        case .meta("HD", let cas?): return StoreLock(key: lock.key, token: lock.token, version: cas)
        case .meta("EX", _), .meta("NF", _), .meta("NS", _): return nil
        case let other: throw unexpected(other, "ms (extend lock)")
        }
    }

    /// Compare-and-delete on the lock's CAS value.
    public func unlock(_ lock: StoreLock) async throws -> Bool {
        try unlocked(try await pool.send(MemcachedCommand.metaDelete(lock.key, compareCAS: lock.version, allocator: allocator)))
    }

    /// `set` and the compare-and-delete of the lock back to back on one connection.
    public func set(_ key: String, value: [UInt8], ttl: Duration, thenUnlock lock: StoreLock) async throws -> Bool {
        try MemcachedCommand.validate(key)
        let (written, released) = try await pool.send(
            MemcachedCommand.store("set", key, value: value, ttl: ttl, allocator: allocator),
            then: MemcachedCommand.metaDelete(lock.key, compareCAS: lock.version, allocator: allocator)
        )
        guard case .stored = written else { throw unexpected(written, "set") }
        return try unlocked(released)
    }

    /// `ms <key> … MR`: stores only over an existing key.
    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.metaSet(key, value: value, ttl: ttl, mode: "R", allocator: allocator)) {
        case .meta("HD", _): return true
        case .meta("NS", _): return false
        case let other: throw unexpected(other, "ms (replace)")
        }
    }

    /// `mg <key> v c`: the value and its CAS value.
    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        try MemcachedCommand.validate(key)
        switch try await pool.send(MemcachedCommand.metaGetVersioned(key, allocator: allocator)) {
        case .metaValue(let bytes, let cas?): return VersionedValue(bytes: bytes, version: cas)
        case .meta("EN", _): return nil
        case let other: throw unexpected(other, "mg")
        }
    }

    /// A meta set with the CAS value read (`C<cas>`), an add (`ME`) when the key was absent, or a
    /// meta delete with the CAS value.
    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        try MemcachedCommand.validate(key)
        let command: ByteBuffer
        switch (value, expected) {
        case (nil, nil): return try await getVersioned(key) == nil
        case (nil, let expected?): command = MemcachedCommand.metaDelete(key, compareCAS: expected.version, allocator: allocator)
        case (let value?, nil): command = MemcachedCommand.metaSet(key, value: value, ttl: ttl, mode: "E", allocator: allocator)
        case (let value?, let expected?): command = MemcachedCommand.metaSet(key, value: value, ttl: ttl, compareCAS: expected.version, allocator: allocator)
        }
        switch try await pool.send(command) {
        case .meta("HD", _): return true
        case .meta("NS", _), .meta("EX", _), .meta("NF", _): return false
        case let other: throw unexpected(other, "ms/md (compare-and-set)")
        }
    }

    private func unlocked(_ response: MemcachedResponse) throws -> Bool {
        switch response {
        case .meta("HD", _): return true
        case .meta("EX", _), .meta("NF", _): return false
        case let other: throw unexpected(other, "md (unlock)")
        }
    }

    /// Loads the TLS files and opens one connection at start, so that files that cannot be used
    /// or refused credentials stop the service with a clear error (an unreachable server is only
    /// logged: it may come up later); then keeps the connections until cancelled.
    public func run() async throws {
        try tls?.prepare(node: node)
        try await pool.runAfterCheckingAtStart(server: "memcached")
    }

    /// Closes the connections now; later commands fail with `shutDown`.
    public func shutdown() async {
        await pool.shutdown()
    }

    private func unexpected(_ response: MemcachedResponse, _ command: String) -> StoreClientError {
        switch response {
        case .error(.server, let message) where message.contains("too large"):
            return StoreClientError(.valueTooLarge, "memcached \(node) refused \(command): SERVER_ERROR \(message)")
        case .error(let kind, let message):
            return StoreClientError(.serverError, "memcached \(node) refused \(command): \(kind.rawValue) \(message)")
        default:
            return StoreClientError(.protocolError, "memcached \(node) answered \(command) with \(response)")
        }
    }
}

/// memcached names its instance by its `version` line; the peer endpoint (issue 32) adds a name of
/// its process there, so the sticky manager sees it restart.
extension MemcachedSessionStore: InstanceNaming {}

extension MemcachedSessionStore: ReportsReachability {
    /// The pool's connection attempts report to the manager's notion of this node being down.
    package func reportReachability(to observer: any StoreReachabilityObserver) {
        pool.reportReachability(to: observer)
    }
}
