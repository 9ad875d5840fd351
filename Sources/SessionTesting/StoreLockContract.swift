import SessionManager

/// What every store's locks must do (``SessionStore/lockAndRead(lock:token:lockTTL:read:ttl:)``,
/// `extendLock`, `unlock`), checked against a real server by each store's tests.
public enum StoreLockContract {
    /// A broken rule.
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs the rules on `store` (keys under `sm:lc:`); throws the first one broken.
    public static func check(_ store: any SessionStore) async throws {
        func rule(_ holds: Bool, _ text: String) throws {
            if !holds { throw Violation(description: text) }
        }
        let me = Array("me-token".utf8), you = Array("you-token".utf8)
        try await store.set("sm:lc:s", value: [7], ttl: .seconds(60))
        guard case .acquired(let mine, let value) = try await store.lockAndRead(lock: "lock:sm:lc:s", token: me, lockTTL: .seconds(10), read: "sm:lc:s", ttl: .seconds(60)) else {
            throw Violation(description: "a free lock is taken")
        }
        try rule(value == [7], "the read after the lock returns the value")
        let second = try await store.lockAndRead(lock: "lock:sm:lc:s", token: you, lockTTL: .seconds(10), read: "sm:lc:s", ttl: .seconds(60))
        if case .acquired = second { throw Violation(description: "a held lock is not taken again") }
        let extended = try await store.extendLock(mine, ttl: .seconds(10))
        try rule(extended != nil, "the holder extends its lock")
        let current = extended ?? mine
        let forged = StoreLock(key: current.key, token: you, version: current.version &+ 1)
        try rule(try await store.unlock(forged) == false, "another holder's value does not release the lock")
        try rule(try await store.extendLock(forged, ttl: .seconds(10)) == nil, "another holder's value does not extend the lock")
        try rule(try await store.unlock(current), "the holder releases its lock")
        guard case .acquired(let yours, let absent) = try await store.lockAndRead(lock: "lock:sm:lc:s", token: you, lockTTL: .seconds(1), read: "sm:lc:none", ttl: .seconds(60)) else {
            throw Violation(description: "a released lock is taken again")
        }
        try rule(absent == nil, "a read of an absent key is nil")
        try rule(try await store.unlock(current) == false, "a stale holder cannot release the next holder's lock")
        try await Task.sleep(for: .milliseconds(2100))
        try rule(try await store.extendLock(yours, ttl: .seconds(10)) == nil, "an expired lock is not extended")
        guard case .acquired(let last, _) = try await store.lockAndRead(lock: "lock:sm:lc:s", token: me, lockTTL: .seconds(10), read: "sm:lc:s", ttl: .seconds(60)) else {
            throw Violation(description: "an expired lock is free")
        }
        try rule(try await store.set("sm:lc:s", value: [8], ttl: .seconds(60), thenUnlock: last), "a write releases the lock with it")
        try rule(try await store.getAndTouch("sm:lc:s", ttl: .seconds(60)) == [8], "the write landed")
        guard case .acquired = try await store.lockAndRead(lock: "lock:sm:lc:s", token: you, lockTTL: .seconds(10), read: "sm:lc:s", ttl: .seconds(60)) else {
            throw Violation(description: "the lock released with a write is free")
        }
    }
}
