import CoreMetrics
import Foundation
import Logging

extension SessionExecutor {
    /// Loads a session for the lifecycle's ``SessionLifecycle/ArrivalAction/load``: reads it
    /// (taking its store lock first when `needsLock`, see ``readLocked(_:ttl:)``), decodes it, and
    /// applies what ``SessionLifecycle/found(_:stickyRoute:writesBackups:)`` decides. Returns the
    /// outcome to report with ``SessionTable/completeLoad(_:_:)``: not found when unknown, expired
    /// or unreadable (a corrupt blob is deleted and logged, and the client gets a new session);
    /// a lock taken for nothing is released here.
    /// - Throws: ``SessionManagerError`` when no node holding the session answered, or its lock
    ///   could not be had (``LockFailurePolicy/reject``).
    func load(_ id: SessionID, needsLock: Bool) async throws -> SessionLifecycle.LoadOutcome {
        let ttl = Duration.seconds(configuration.maxInactiveInterval)
        if unknownIDs.contains(id) {
            metrics.unknownCached.increment()
            return .notFound
        }
        let read: SessionStorage.Read?
        let lock: SessionLock?
        do {
            if needsLock {
                (read, lock) = try await readLocked(id, ttl: ttl)
            } else {
                (read, lock) = (try await storage.read(id, ttl: ttl), nil)
            }
        } catch {
            let failure = error as? SessionManagerError ?? SessionManagerError(.storeUnavailable, "session load failed", underlying: error)
            if failure.code == .storeUnavailable {
                requestFailsForTheStore("load", id, failure)
            }
            throw failure
        }
        guard let read else {
            if let lock { await storage.unlock(lock) }
            unknownIDs.insert(id)
            metrics.unknown.increment()
            return .notFound
        }
        let outcome = await adopt(read, id)
        guard case .found(let session, let stored, let storedID, _) = outcome else {
            if let lock { await storage.unlock(lock) }
            return outcome
        }
        metrics.loaded.increment()
        return .found(session, stored: stored, id: storedID, lock: lock)
    }

    /// Decodes what a load read and applies the lifecycle's verdict on it.
    private func adopt(_ read: SessionStorage.Read, _ id: SessionID) async -> SessionLifecycle.LoadOutcome {
        let snapshot: SessionSnapshot
        do {
            let start = ContinuousClock.now
            snapshot = try configuration.transcoder.decode(read.bytes)
            metrics.decoding.recordNanoseconds(Int64((ContinuousClock.now - start).nanosecondCount))
        } catch {
            let metadata: Logger.Metadata = ["sm.session": "\(id.logTag)", "sm.error": "\(error)"]
            if let writer = knownTranscoders.identify(read.bytes), writer != configuration.transcoder.name {
                // The cluster switched transcoderFactoryClass: the old sessions are lost, say why.
                logger.warning(
                    "stored session was written by the '\(writer)' transcoder, this context uses '\(configuration.transcoder.name)'; deleted, the client gets a new session",
                    metadata: metadata
                )
            } else {
                logger.warning("stored session is unreadable; deleted, the client gets a new session", metadata: metadata)
            }
            await storage.discard(read)
            return .notFound
        }
        let found = SessionLifecycle.Found(
            requestedID: id,
            snapshot: snapshot,
            fromBackup: read.fromBackup,
            backupNodeWhilePrimaryIsDown: read.relocateTo,
            age: Date().timeIntervalSince(snapshot.lastAccessedTime),
            contextTimeout: configuration.maxInactiveInterval,
            sinceCreation: Date().timeIntervalSince(snapshot.creationTime),
            maxLifetime: configuration.maxSessionLifetime
        )
        switch SessionLifecycle.found(found, stickyRoute: stickyRoute, writesBackups: policy.writesBackups) {
        case .anotherID:
            logger.warning("stored session has another id; ignored", metadata: ["sm.session": "\(id.logTag)"])
            return .notFound
        case .expiredBackup:
            return .notFound
        case .pastLifetime:
            await storage.discard(read)
            return .notFound
        case .adopt(let adoption):
            let session = Session(snapshot: snapshot, id: id, isNew: false, idGenerator: idGenerator, maxLifetime: configuration.maxSessionLifetime, principals: principals)
            let ttl = session.storeTTL(maxInactiveInterval: snapshot.maxInactiveInterval, now: Date())
            if adoption.touchWithOwnTimeout || (!read.fromBackup && ttl < .seconds(configuration.maxInactiveInterval)) {
                // The load's touch used the context default; this session has its own timeout,
                // or less of its lifetime left.
                _ = try? await storage.touch(id, ttl: ttl)
            }
            if let route = adoption.takeOver { move(session, .toAppNode(route: route)) }
            if let node = adoption.relocateTo { move(session, .toStoreNode(node, fromBackup: true)) }
            // Sticky, as msm at a takeover: a session on one of this node's failover nodes goes to
            // a primary node now, before the app sees its id (see `place`).
            if policy.isSticky { _ = place(session) }
            return adoption.keepsStoredCopy ? .found(session, stored: snapshot, id: id) : .found(session, stored: nil, id: nil)
        }
    }
}
