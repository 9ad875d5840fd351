import ServiceLifecycle

/// One store node: a key/value store with expiry, over bytes.
///
/// The node list, availability and failover live above this protocol, in the manager; a store is
/// one Redis server, one memcached server, or the in-process memory store. Every operation is one
/// round trip at most. Stores are `Service`s: their `run()` owns background work (connection pools,
/// expiry sweeps). The ``SessionManager`` that runs a store cancels it once its own work is done,
/// so a network store's `run()` may wait for cancellation (its connections serve the requests and
/// the writes still under way during a graceful shutdown).
public protocol SessionStore: Service {
    /// Reads a value and, when found, resets its time to live to `ttl` in the same operation
    /// (Redis `GETEX … PX`, memcached `gat`): a read-only request costs one round trip.
    func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]?

    /// Stores a value with a time to live, replacing any previous value.
    func set(_ key: String, value: [UInt8], ttl: Duration) async throws

    /// Stores a value only if the key is absent; `false` when it already exists.
    func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool

    /// Removes a key; removing an absent key is not an error.
    func delete(_ key: String) async throws

    /// Resets a key's time to live; `false` when the key does not exist.
    func touch(_ key: String, ttl: Duration) async throws -> Bool

    /// Stores a value only if the key exists (Redis `SET … XX`, memcached `ms … MR`); `false` when
    /// it does not. A logged-in session loaded from the store is written back this way, so that a
    /// copy deleted meanwhile by an invalidation on another node is not brought back (see
    /// ``SessionManager/invalidateSessions(of:except:)``).
    func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool

    /// Reads a value with its version, without touching it (see ``VersionedValue``).
    func getVersioned(_ key: String) async throws -> VersionedValue?

    /// Writes `value` (`nil`: deletes the key) only if the key still holds `expected` (`nil`: only
    /// if it is absent); `false` when it changed since it was read.
    func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool

    /// Takes the lock `key` (value `token`, expiring after `lockTTL`) unless someone holds it, and
    /// once it is taken reads `readKey` as ``getAndTouch(_:ttl:)`` does. The read must reach the
    /// store after the lock: a network store sends both on one connection, in one round trip.
    func lockAndRead(lock key: String, token: [UInt8], lockTTL: Duration, read readKey: String, ttl: Duration) async throws -> LockedRead

    /// Extends a lock this process holds to `ttl` from now, only if it still holds it
    /// (compare-and-extend); returns the lock as it now is, or `nil` when it was lost (expired, or
    /// taken by someone else since).
    func extendLock(_ lock: StoreLock, ttl: Duration) async throws -> StoreLock?

    /// Stores a value as ``set(_:value:ttl:)`` does, then releases `lock` as ``unlock(_:)`` does,
    /// the release reaching the store after the write: a network store sends both on one
    /// connection, in one round trip. Returns what the release returned.
    func set(_ key: String, value: [UInt8], ttl: Duration, thenUnlock lock: StoreLock) async throws -> Bool

    /// Releases a lock only if it is still this holder's (compare-and-delete where the store can);
    /// `false` when it was not (expired, taken by someone else).
    func unlock(_ lock: StoreLock) async throws -> Bool

    /// `true` when the store lives in this process and only the manager that uses it writes the
    /// keys under its prefix, so a session that manager saved cannot change in the store behind
    /// its back. A fact about the store, not a policy: with ``SessionResidency/automatic`` (the
    /// default ``ManagerConfiguration/residency``) the manager then keeps released sessions
    /// resident in memory. Default: `false` (a shared server: every request reads the store).
    var isProcessLocal: Bool { get }

    /// How many sessions this store keeps in this process's memory (expired ones not yet removed
    /// included), counted against ``ManagerConfiguration/maxActiveSessions``; `nil` for a store in
    /// another process. Must be cheap: it is read for every new session. Default: `nil`.
    var localSessionCount: Int? { get }

    /// Removes expired sessions from this process's memory now (a manager at its
    /// ``ManagerConfiguration/maxActiveSessions`` does, before refusing a new session). Default: nothing.
    func removeExpiredSessions()

    /// Asks a node the manager holds for down whether it answers again: a cheap command on `key`
    /// (a touch), sent at once even while a network store backs off its reconnects, since the
    /// answer decides whether a request can be served by this node instead of failing. Throws when
    /// the node does not answer. Default: ``touch(_:ttl:)``.
    func probe(key: String) async throws
}

extension SessionStore {
    /// A store is shared between processes unless it says otherwise.
    public var isProcessLocal: Bool { false }

    /// A store lives in another process unless it says otherwise.
    public var localSessionCount: Int? { nil }

    /// Nothing to remove in this process by default.
    public func removeExpiredSessions() {}

    /// A touch of `key`.
    public func probe(key: String) async throws {
        _ = try await touch(key, ttl: .seconds(1))
    }
}
