/// A session lock held in a store (non-sticky locking, see ``LockingMode``): the key, the random
/// token that says it is ours, and the store's version of it (memcached's CAS value; 0 where the
/// store compares tokens instead). Only the holder of this value can extend or release the lock.
public struct StoreLock: Sendable, Equatable {
    /// The lock's key (`lock:` + the session's key).
    public let key: String
    /// A random token from the system CSPRNG, the lock key's value.
    public let token: [UInt8]
    /// The store's version of the lock key when it was last set by us (memcached CAS), or 0.
    public let version: UInt64

    /// Creates a lock value.
    public init(key: String, token: [UInt8], version: UInt64 = 0) {
        self.key = key
        self.token = token
        self.version = version
    }
}

/// What ``SessionStore/lockAndRead(lock:token:lockTTL:read:ttl:)`` found.
public enum LockedRead: Sendable {
    /// Taken: the lock, and the value read once it was taken (`nil`: absent).
    case acquired(StoreLock, value: [UInt8]?)
    /// Someone else holds the lock; nothing was read.
    case busy
}

extension SessionStore {
    /// Takes the lock with `add`, then reads: two round trips, and a release by plain `delete`
    /// (see ``unlock(_:)``). Stores that can do better (Redis, memcached) override these.
    public func lockAndRead(lock key: String, token: [UInt8], lockTTL: Duration, read readKey: String, ttl: Duration) async throws -> LockedRead {
        guard try await add(key, value: token, ttl: lockTTL) else { return .busy }
        return .acquired(StoreLock(key: key, token: token), value: try await getAndTouch(readKey, ttl: ttl))
    }

    /// Resets the lock's time to live with `touch`: without a compare, it cannot tell its own lock
    /// from a later holder's.
    public func extendLock(_ lock: StoreLock, ttl: Duration) async throws -> StoreLock? {
        try await touch(lock.key, ttl: ttl) ? lock : nil
    }

    /// Writes, then releases: two round trips.
    public func set(_ key: String, value: [UInt8], ttl: Duration, thenUnlock lock: StoreLock) async throws -> Bool {
        try await set(key, value: value, ttl: ttl)
        return try await unlock(lock)
    }

    /// Deletes the lock key, whoever holds it now.
    public func unlock(_ lock: StoreLock) async throws -> Bool {
        try await delete(lock.key)
        return true
    }
}
