import ServiceLifecycle
import SessionManager

/// Wraps a real store and delays the answers to its reads (the value is read first, then the
/// answer waits), to make races between concurrent requests reproducible: a reply still in
/// flight while another request writes carries the old value, as a slow network would.
public final class DelayingSessionStore: SessionStore {
    /// The wrapped store.
    public let base: any SessionStore
    /// Delay between reading a value and returning it, for each `getAndTouch`.
    public let readDelay: Duration

    /// Wraps `base`, delaying reads by `readDelay`.
    public init(_ base: any SessionStore, readDelay: Duration) {
        self.base = base
        self.readDelay = readDelay
    }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? {
        let value = try await base.getAndTouch(key, ttl: ttl)
        try await Task.sleep(for: readDelay)
        return value
    }

    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        try await base.set(key, value: value, ttl: ttl)
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try await base.add(key, value: value, ttl: ttl)
    }

    public func delete(_ key: String) async throws {
        try await base.delete(key)
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        try await base.touch(key, ttl: ttl)
    }

    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        try await base.replace(key, value: value, ttl: ttl)
    }

    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        try await base.getVersioned(key)
    }

    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        try await base.setIfUnchanged(key, value: value, ttl: ttl, expected: expected)
    }

    public func run() async throws {
        try await base.run()
    }
}
