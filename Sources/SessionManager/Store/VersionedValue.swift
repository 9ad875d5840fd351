/// A value read for a compare-and-set update (``SessionStore/getVersioned(_:)``): the bytes, and
/// the store's version of them. Small shared records that several nodes change (a principal's
/// index) are updated by reading one, computing the new value, and writing it back only if the
/// key still holds what was read (``SessionStore/setIfUnchanged(_:value:ttl:expected:)``), retried
/// when another node got there first: the rules of the change then live in Swift, once, and every
/// store kind only has to compare.
public struct VersionedValue: Sendable, Equatable {
    /// The value.
    public let bytes: [UInt8]
    /// memcached's CAS value; 0 where the store compares the bytes themselves (Redis, memory).
    public let version: UInt64

    /// Creates a versioned value.
    public init(bytes: [UInt8], version: UInt64 = 0) {
        self.bytes = bytes
        self.version = version
    }
}

extension SessionStore {
    /// Without a compare-and-set of its own, a store cannot hold records several nodes change.
    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        throw SessionManagerError(.invalidConfiguration, "this store has no compare-and-set: a principal's sessions cannot be indexed on it")
    }

    /// See ``getVersioned(_:)``.
    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        throw SessionManagerError(.invalidConfiguration, "this store has no compare-and-set: a principal's sessions cannot be indexed on it")
    }

    /// A touch, then a set: not atomic (a delete between the two is undone). Stores that can
    /// replace in one command (Redis `SET … XX`, memcached `ms … MR`) override it.
    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        guard try await touch(key, ttl: ttl) else { return false }
        try await set(key, value: value, ttl: ttl)
        return true
    }
}
