import ServiceLifecycle
import SessionManager
import Synchronization

/// Wraps a real store and counts the operations that reach it, so tests can assert that a
/// request cost exactly N store operations (or none).
public final class CountingSessionStore: SessionStore {
    /// Operation counts.
    public struct Counts: Sendable, Equatable {
        public var getAndTouch = 0
        public var set = 0
        public var add = 0
        public var delete = 0
        public var touch = 0
        /// `replace` (a write of a logged-in session, see ``SessionStore/replace(_:value:ttl:)``).
        public var replace = 0
        /// `getVersioned` and `setIfUnchanged`: a principal's index.
        public var versioned = 0
        /// All operations.
        public var total: Int { getAndTouch + set + add + delete + touch + replace + versioned }
        public init() {}
    }

    /// The wrapped store.
    public let base: any SessionStore
    /// What the wrapper tells the manager, whatever `base` says: by default `false`, so that the
    /// manager reads the store on every request and tests see each operation a shared store
    /// would get; `true` to test residency (see ``SessionStore/isProcessLocal``).
    public let isProcessLocal: Bool
    private let counter = Mutex(Counts())

    /// Wraps `base`.
    /// - Parameter isProcessLocal: what to tell the manager (default `false`, see ``isProcessLocal``).
    public init(_ base: any SessionStore, isProcessLocal: Bool = false) {
        self.base = base
        self.isProcessLocal = isProcessLocal
    }

    /// The counts so far.
    public var counts: Counts { counter.withLock { $0 } }

    /// Sets all counts to zero.
    public func reset() { counter.withLock { $0 = Counts() } }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? {
        counter.withLock { $0.getAndTouch += 1 }
        return try await base.getAndTouch(key, ttl: ttl)
    }

    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        counter.withLock { $0.set += 1 }
        try await base.set(key, value: value, ttl: ttl)
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        counter.withLock { $0.add += 1 }
        return try await base.add(key, value: value, ttl: ttl)
    }

    public func delete(_ key: String) async throws {
        counter.withLock { $0.delete += 1 }
        try await base.delete(key)
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        counter.withLock { $0.touch += 1 }
        return try await base.touch(key, ttl: ttl)
    }

    /// The base store's count when it stands for a process-local store, `nil` (a shared store) otherwise.
    public var localSessionCount: Int? { isProcessLocal ? base.localSessionCount : nil }

    /// Forwarded to the base store.
    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        counter.withLock { $0.replace += 1 }
        return try await base.replace(key, value: value, ttl: ttl)
    }

    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        counter.withLock { $0.versioned += 1 }
        return try await base.getVersioned(key)
    }

    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        counter.withLock { $0.versioned += 1 }
        return try await base.setIfUnchanged(key, value: value, ttl: ttl, expected: expected)
    }

    public func removeExpiredSessions() { base.removeExpiredSessions() }

    public func run() async throws {
        try await base.run()
    }
}
