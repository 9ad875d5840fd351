import ServiceLifecycle
import Synchronization

/// The embedded default store: a dictionary in this process, with expiry.
///
/// Expired entries are invisible at once (every read checks the deadline) and are removed by a
/// sweep that ``run()`` performs every ``Configuration/sweepInterval``, so memory stays bounded by
/// the live sessions. It is not shared between processes: use Redis or memcached for a cluster.
public final class MemorySessionStore: SessionStore {
    /// Tuning of the memory store.
    public struct Configuration: Sendable {
        /// How often expired entries are removed. Default: 60 seconds.
        public var sweepInterval: Duration

        /// Creates a configuration.
        /// - Parameter sweepInterval: how often expired entries are removed (default 60 s).
        public init(sweepInterval: Duration = .seconds(60)) {
            self.sweepInterval = sweepInterval
        }
    }

    private struct Entry {
        var value: [UInt8]
        var expiry: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let configuration: Configuration
    private let clock = ContinuousClock()

    /// Creates an empty store.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// `true`: the store lives in this process, so the manager keeps sessions resident and uses
    /// this store only for sessions that had to leave memory. Share one memory store between managers
    /// only with distinct `storageKeyPrefix`es.
    public var isProcessLocal: Bool { true }

    /// Number of keys, expired ones not yet swept included.
    public var count: Int { entries.withLock { $0.count } }

    /// Every key is a session in this process's memory.
    public var localSessionCount: Int? { count }

    /// Removes expired entries now (see ``sweep()``).
    public func removeExpiredSessions() { sweep() }

    public func getAndTouch(_ key: String, ttl: Duration) async throws -> [UInt8]? {
        let now = clock.now
        return entries.withLock { entries -> [UInt8]? in
            guard let index = entries.index(forKey: key) else { return nil }
            guard entries.values[index].expiry > now else {
                entries.remove(at: index)
                return nil
            }
            entries.values[index].expiry = now + ttl
            return entries.values[index].value
        }
    }

    public func set(_ key: String, value: [UInt8], ttl: Duration) async throws {
        let entry = Entry(value: value, expiry: clock.now + ttl)
        entries.withLock { $0[key] = entry }
    }

    public func add(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        let now = clock.now
        return entries.withLock { entries in
            if let existing = entries[key], existing.expiry > now { return false }
            entries[key] = Entry(value: value, expiry: now + ttl)
            return true
        }
    }

    public func delete(_ key: String) async throws {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    public func touch(_ key: String, ttl: Duration) async throws -> Bool {
        let now = clock.now
        return entries.withLock { entries in
            guard var entry = entries[key], entry.expiry > now else { return false }
            entry.expiry = now + ttl
            entries[key] = entry
            return true
        }
    }

    public func replace(_ key: String, value: [UInt8], ttl: Duration) async throws -> Bool {
        let now = clock.now
        return entries.withLock { entries in
            guard let entry = entries[key], entry.expiry > now else { return false }
            entries[key] = Entry(value: value, expiry: now + ttl)
            return true
        }
    }

    public func getVersioned(_ key: String) async throws -> VersionedValue? {
        let now = clock.now
        return entries.withLock { entries in
            guard let entry = entries[key], entry.expiry > now else { return nil }
            return VersionedValue(bytes: entry.value)
        }
    }

    /// Compares the bytes, under the store's lock.
    public func setIfUnchanged(_ key: String, value: [UInt8]?, ttl: Duration, expected: VersionedValue?) async throws -> Bool {
        let now = clock.now
        return entries.withLock { entries in
            let current = entries[key].flatMap { $0.expiry > now ? $0.value : nil }
            guard current == expected?.bytes else { return false }
            entries[key] = value.map { Entry(value: $0, expiry: now + ttl) }
            return true
        }
    }

    /// Removes every expired entry now; returns how many were removed.
    @discardableResult
    public func sweep() -> Int {
        let now = clock.now
        return entries.withLock { entries in
            let before = entries.count
            entries = entries.filter { $0.value.expiry > now }
            return before - entries.count
        }
    }

    /// Sweeps expired entries periodically until cancelled or shut down gracefully.
    public func run() async throws {
        let interval = configuration.sweepInterval
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    self.sweep()
                }
            }
        } catch is CancellationError {
            // Shutdown: nothing to flush, the store lives only in this process.
        }
    }
}
