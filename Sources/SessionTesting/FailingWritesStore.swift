import SessionManager
import Synchronization

/// A real memory store whose writes can be made to fail as an unreachable node's would: the
/// moment between a successful read and a failed write cannot be hit reliably with a process.
public final class FailingWritesStore: SessionStore {
    public let base: MemorySessionStore
    private let failing = Mutex(false)

    public init(_ base: MemorySessionStore) { self.base = base }

    public func failWrites(_ fail: Bool) { failing.withLock { $0 = fail } }

    private func check() throws {
        if failing.withLock({ $0 }) { throw SessionManagerError(.storeUnavailable, "injected: node unreachable") }
    }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? { try await base.getAndTouch(key, ttl: ttl) }
    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        try check()
        try await base.set(key, value: value, ttl: ttl)
    }
    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try check()
        return try await base.add(key, value: value, ttl: ttl)
    }
    public func delete(_ key: String) async throws {
        try check()
        try await base.delete(key)
    }
    public func touch(_ key: String, ttl: Duration) async throws -> Bool { try await base.touch(key, ttl: ttl) }
    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try check()
        return try await base.replace(key, value: value, ttl: ttl)
    }
    public func getVersioned(_ key: String) async throws -> VersionedValue? { try await base.getVersioned(key) }
    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        try check()
        return try await base.setIfUnchanged(key, value: value, ttl: ttl, expected: expected)
    }
    public func run() async throws { try await base.run() }
}
