import CoreMetrics

/// Carries out the writes, touches and deletes that the sessions' lifecycles ask for (see
/// ``SessionLifecycle``): the asynchronous half of the lifecycle, with no decision of its own.
///
/// A class: the manager hands it to every request, and copying a struct of existentials and
/// strings on each access cost retains on the hot path.
final class SessionWriter: Sendable {
    let storage: SessionStorage
    let transcoder: any SessionTranscoder
    /// Attributes not matching are not written (msm `sessionAttributeFilter`).
    let filter: SessionAttributeFilter?
    /// Largest blob written, in bytes.
    let maxSessionSize: Int
    /// Where the lifecycles are.
    let active: ActiveSessions
    /// Encoding time, sizes and writes of the context's statistics.
    let metrics: SessionMetrics

    init(storage: SessionStorage, configuration: ManagerConfiguration, active: ActiveSessions, metrics: SessionMetrics) {
        self.metrics = metrics
        self.storage = storage
        self.transcoder = configuration.transcoder
        self.filter = configuration.sessionAttributeFilter
        self.maxSessionSize = configuration.maxSessionSize
        self.active = active
    }

    /// Makes sure every change made to `session` so far is in the store (`session` is filed under
    /// `registeredID` and the caller holds a reference to it, or it is resident).
    ///
    /// `waits` `false` (sticky mode, after the response): when another request is writing the
    /// session, this one returns at once and that writer writes again when its write ends, so a
    /// busy session costs a few writes, not one per request, and no request waits for another's.
    /// A writer writes again at most `rewrites` times: a session changed without pause would
    /// otherwise keep one connection writing for as long as it lasts. Returns `true` when it
    /// stopped there with changes still handed to it (the caller has them written elsewhere).
    @discardableResult
    func persist(_ session: Session, registeredID: SessionID, waits: Bool = true, rewrites: Int = .max) async throws -> Bool {
        var target: UInt64? = session.withState { $0.generation }
        var rewritten = 0
        var relocations = 0
        while true {
            switch active.persistStep(session, registeredID: registeredID, target: target, waits: waits) {
            case .upToDate, .handedToWriter:
                return false
            case .lockLost:
                throw SessionManagerError(
                    .lockLost,
                    "the session's lock was lost while the request ran (expired, or taken by another node); its changes are not written, so as not to overwrite a newer session"
                )
            case .touch(let id, let ttl):
                if try await storage.touch(id, ttl: ttl) { return false }
                // The store lost its copy (restarted empty, evicted it): written again.
                active.storeLostCopy(session, registeredID: registeredID)
            case .wait(let target):
                if try await active.waitForWrite(session, registeredID: registeredID, target: target) { return false }
            case .write(var snapshot, let generation, let id, let previous, let previousID, let unlock):
                if let filter { snapshot.attributes = filter.apply(snapshot.attributes) }
                var failure: (any Error)?
                do {
                    try await write(snapshot, id: id, previous: previous, previousID: previousID, unlock: unlock)
                } catch {
                    failure = error
                }
                let writeAgain = active.writeCompleted(
                    session,
                    registeredID: registeredID,
                    .init(generation: generation, snapshot: snapshot, id: id, failure: failure)
                )
                if let failure {
                    guard relocations < 1, let node = await storage.relocationTarget(afterFailedWriteOf: id, failure) else { throw failure }
                    // The session's node stopped answering between its read and its write (it
                    // died under the request): the session moves to an available node, as a read
                    // would move it, and is written there under its new id (a new cookie); the
                    // old copies are deleted best effort. Once per persist.
                    session.relocate(toNode: node)
                    relocations += 1
                    target = nil
                    continue
                }
                guard writeAgain else { return false }
                if rewritten >= rewrites { return true }
                rewritten += 1
                target = nil  // the session's generation now: every change handed over meanwhile
            }
        }
    }

    /// One store write, skipped when the store already holds these exact contents; `unlock` is
    /// released with it (or alone, when it is skipped).
    private func write(_ snapshot: SessionSnapshot, id: SessionID, previous: SessionSnapshot?, previousID: SessionID?, unlock: SessionLock?) async throws {
        let unchanged = previous.map {
            $0.attributes == snapshot.attributes && $0.maxInactiveInterval == snapshot.maxInactiveInterval
        } ?? false
        if unchanged && previousID == id {
            if let unlock { await storage.unlock(unlock) }
            return
        }
        let start = ContinuousClock.now
        let bytes = try transcoder.encode(snapshot)
        metrics.encoding.recordNanoseconds(Int64((ContinuousClock.now - start).nanosecondCount))
        metrics.sessionSize.record(bytes.count)
        guard bytes.count <= maxSessionSize else {
            throw SessionManagerError(
                .sessionTooLarge,
                "encoded session is \(bytes.count) bytes, over maxSessionSize \(maxSessionSize); not written, the store keeps the previous copy"
            )
        }
        try await storage.write(id, bytes: bytes, ttl: .seconds(snapshot.maxInactiveInterval), previousID: previousID, unlocking: unlock)
        metrics.written.increment()
    }

    /// Deletes every key the session was ever stored under (invalidation).
    func delete(_ session: Session, registeredID: SessionID) async throws {
        for id in active.deleteRequested(session, registeredID: registeredID) { try await storage.delete(id) }
    }
}
