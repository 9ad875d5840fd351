import CoreMetrics
import Logging
import Synchronization

extension SessionExecutor {
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
                outcome = try await storage.readLocked(id, ttl: ttl, token: SessionManager.lockToken(), lockTTL: configuration.lockExpiration)
            } catch {
                return try await lockFailed(id, reason: "the store failed while locking: \(error)", error: error, ttl: ttl)
            }
            if case .read(let read, let lock) = outcome {
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

    /// How often the held locks are looked at for renewal: a quarter of `lockExpiration`, at most
    /// a second, so a lock is extended between half and three quarters of its life.
    var lockRenewalInterval: Duration { min(.seconds(1), configuration.lockExpiration / 4) }

    /// Extends every lock held past half of its expiration; a lock found lost is logged (its
    /// session is then not written, see ``SessionLifecycle/PersistAction/lockLost``).
    func renewLocks() async {
        for lock in table.locksDueForRenewal() {
            let started = ContinuousClock.now
            let renewed: SessionLock?
            do {
                renewed = try await storage.extendLock(lock)
            } catch {
                // Tried again next time; a lock not extended for a whole expiration counts as lost.
                continue
            }
            if renewed != nil { metrics.lockRenewed.increment() }
            if table.lockRenewed(lock, as: renewed, startedAt: started) {
                metrics.lockLost.increment()
                logger.warning(
                    "a session lock was lost while its request ran (it expired, or another node took it); the request's changes will not be written",
                    metadata: ["sm.lock": "\(lock.lock.key.suffix(12))"]
                )
            }
        }
    }
}
