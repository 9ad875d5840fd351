import CoreMetrics
import Logging
import Synchronization

/// Counters of the store locks of one manager (non-sticky locking), for the operability issue's
/// statistics.
public struct LockCounters: Sendable, Equatable {
    /// Locks taken.
    public var taken = 0
    /// Locks that were held by someone else at the first try, so the request waited.
    public var waits = 0
    /// Total time requests waited for a lock held by someone else, in milliseconds.
    public var waitMilliseconds = 0
    /// Locks not had within `operationTimeout` (or a store error while locking).
    public var failures = 0
    /// Of those, requests that went on unlocked (``LockFailurePolicy/proceed``).
    public var proceededUnlocked = 0
    /// Locks extended because a request ran past half of `lockExpiration`.
    public var renewals = 0
    /// Locks found lost at a renewal (expired, taken by another node).
    public var lost = 0
    /// Request ids learned as read-only (``LockingMode/auto``).
    public var readOnlyLearned = 0
}

/// The lock counters that are not also metrics (those are ``SessionMetrics``' `lock…` counters).
final class LockStatistics: Sendable {
    let waitNanoseconds = Atomic<Int>(0)
    let proceeded = Atomic<Int>(0)
    let learned = Atomic<Int>(0)
}

extension SessionManager {
    /// Lock counters so far.
    public var lockCounters: LockCounters {
        LockCounters(
            taken: metrics.lockTaken.value,
            waits: metrics.lockWaited.value,
            waitMilliseconds: lockStatistics.waitNanoseconds.load(ordering: .relaxed) / 1_000_000,
            failures: metrics.lockFailed.value,
            proceededUnlocked: lockStatistics.proceeded.load(ordering: .relaxed),
            renewals: metrics.lockRenewed.value,
            lost: metrics.lockLost.value,
            readOnlyLearned: lockStatistics.learned.load(ordering: .relaxed)
        )
    }

    /// msm's request id of a request, when the locking mode looks at it (``LockingMode/auto``,
    /// ``LockingMode/uriPattern(pattern:regex:)``); built once per request.
    func lockingRequestID(method: String, path: Substring, query: Substring?) -> String? {
        switch configuration.lockingMode {
        case .none, .all: return nil
        case .auto, .uriPattern: return Self.requestID(method: method, path: path, query: query)
        }
    }

    /// Whether a request with this request id (see ``lockingRequestID(method:path:query:)``)
    /// locks its session (``LockingMode``).
    func locks(requestID: String?) -> Bool {
        guard policy.locks else { return false }
        switch configuration.lockingMode {
        case .none: return false
        case .all: return true
        case .auto: return !(requestID.map(readOnlyRequests.isReadOnly) ?? false)
        case .uriPattern(_, let regex): return requestID.map(regex.matches) ?? false
        }
    }

    /// msm's request id: `"<METHOD> <path>[?<query>]"`, the query omitted for `POST`.
    static func requestID(method: String, path: Substring, query: Substring?) -> String {
        guard let query, method != "POST" else { return "\(method) \(path)" }
        return "\(method) \(path)?\(query)"
    }

    /// ``LockingMode/auto``: a request with this id ended having changed a session or not.
    func learn(requestID: String, modified: Bool) {
        guard policy.locks, case .auto = configuration.lockingMode else { return }
        if readOnlyRequests.learn(requestID, modified: modified) {
            lockStatistics.learned.add(1, ordering: .relaxed)
        }
    }

    /// Takes the session's lock and reads it. While another holder has the lock, tries again after
    /// 10 ms, doubling up to 500 ms, until `operationTimeout` has passed since the first try (msm's
    /// schedule). A lock not had by then, or a store error, is a lock failure: with
    /// ``LockFailurePolicy/reject`` it throws ``SessionManagerError/Code/sessionLocked``; with
    /// ``LockFailurePolicy/proceed`` it is logged and the session is read unlocked.
    func readLocked(_ id: SessionID, ttl: Duration) async throws -> (SessionStorage.Read?, SessionLock?) {
        let start = ContinuousClock.now
        let deadline = start + configuration.operationTimeout
        var pause = Duration.milliseconds(10)
        var waited = false
        while true {
            let outcome: SessionStorage.LockedReadResult
            do {
                outcome = try await storage.readLocked(id, ttl: ttl, token: Self.lockToken(), lockTTL: configuration.lockExpiration)
            } catch {
                storeFailed(error)
                return try await lockFailed(id, reason: "the store failed while locking: \(error)", error: error, ttl: ttl)
            }
            if case .read(let read, let lock) = outcome {
                storeWorked()
                if lock != nil { metrics.lockTaken.increment() }
                if waited {
                    let nanoseconds = (ContinuousClock.now - start).nanosecondCount
                    lockStatistics.waitNanoseconds.add(nanoseconds, ordering: .relaxed)
                    metrics.lockWait.recordNanoseconds(Int64(nanoseconds))
                }
                return (read, lock)
            }
            if !waited {
                waited = true
                metrics.lockWaited.increment()
            }
            let now = ContinuousClock.now
            guard now < deadline else {
                return try await lockFailed(id, reason: "the session is locked by another request for longer than operationTimeout", error: nil, ttl: ttl)
            }
            try await Task.sleep(for: min(pause, deadline - now))
            pause = min(pause * 2, .milliseconds(500))
        }
    }

    private func lockFailed(_ id: SessionID, reason: String, error: (any Error)?, ttl: Duration) async throws -> (SessionStorage.Read?, SessionLock?) {
        metrics.lockFailed.increment()
        let metadata: Logger.Metadata = ["sm.session": "\(id.logTag)"]
        guard configuration.lockFailure == .proceed else {
            logger.debug("lock not acquired; the request is answered 503", metadata: metadata)
            if let error {
                // No node holding the session answered: the store's failure, not another
                // request's lock (the answer says so, and it is counted as a store failure).
                throw SessionManagerError(.storeUnavailable, reason, underlying: error)
            }
            throw SessionManagerError(.sessionLocked, reason, underlying: error)
        }
        lockStatistics.proceeded.add(1, ordering: .relaxed)
        logger.warning("lock not acquired (\(reason)); lockFailure=proceed: the request goes on with the session unlocked", metadata: metadata)
        return (try await storage.read(id, ttl: ttl), nil)
    }

    /// A lock's value: 16 bytes from the system CSPRNG, in hex.
    static func lockToken() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var token: [UInt8] = []
        token.reserveCapacity(32)
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { token.append(digits[Int((word >> UInt64(shift)) & 0xF)]) }
        }
        return token
    }

    /// How often the held locks are looked at for renewal: a quarter of `lockExpiration`, at most
    /// a second, so a lock is extended between half and three quarters of its life.
    var lockRenewalInterval: Duration { min(.seconds(1), configuration.lockExpiration / 4) }

    /// Extends every lock held past half of its expiration; a lock found lost is logged (its
    /// session is then not written, see ``SessionLifecycle/PersistAction/lockLost``).
    func renewLocks() async {
        for lock in active.locksDueForRenewal() {
            let started = ContinuousClock.now
            let renewed: SessionLock?
            do {
                renewed = try await storage.extendLock(lock)
            } catch {
                // Tried again next time; a lock not extended for a whole expiration counts as lost.
                continue
            }
            if renewed != nil { metrics.lockRenewed.increment() }
            if active.lockRenewed(lock, as: renewed, startedAt: started) {
                metrics.lockLost.increment()
                logger.warning(
                    "a session lock was lost while its request ran (it expired, or another node took it); the request's changes will not be written",
                    metadata: ["sm.lock": "\(lock.lock.key.suffix(12))"]
                )
            }
        }
    }
}
