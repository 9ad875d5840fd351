import CoreMetrics
import Logging
import Synchronization

/// What the response must do with the session cookie.
public enum SessionCookieAction: Sendable, Equatable {
    /// Send nothing: the client's cookie is still right (or there is no session).
    case none
    /// Send a cookie with this id (new session, or its id changed).
    case set(SessionID)
    /// Expire the cookie (the session was invalidated).
    case expire
}

/// One request's access to its session: loaded lazily, saved once at the end. A short driver:
/// it asks the session's lifecycle (through ``SessionTable``) what to do and has the
/// ``SessionExecutor`` do it, holding a ``SessionTable/Lease`` on the session's entry.
///
/// A request that never asks costs no store operation. An ignored request (see
/// ``ManagerConfiguration/requestUriIgnorePattern``) has no session at all:
/// ``existingSession()`` returns `nil` and ``session()`` throws ``SessionManagerError/Code/requestIgnored``.
/// After ``Session/invalidate()``, ``existingSession()`` returns `nil` and ``session()`` starts a new
/// session (log out, then continue anonymously).
public final class RequestSessions: Sendable {
    /// A session this request holds a reference to.
    private struct Held {
        let session: Session
        /// The request's hold on the session's entry (to persist and release it).
        let lease: SessionTable.Lease
        /// The id the client sent for it (`nil`: created by this request); when the session has
        /// another id by the end (relocated, taken over, or changed), the response sets the new cookie.
        let knownID: SessionID?
        /// Its generation when this request got it (``LockingMode/auto`` learns whether the
        /// request changed it).
        let startGeneration: UInt64
        init(session: Session, lease: SessionTable.Lease, knownID: SessionID?) {
            self.session = session
            self.lease = lease
            self.knownID = knownID
            self.startGeneration = session.withState { $0.generation }
        }
    }

    /// What ``ManagerConfiguration/lockingMode`` needs of the request.
    struct Locking: Sendable {
        /// msm's request id, when the locking mode looks at it.
        let requestID: String?
        /// Whether this request locks its session.
        let needsLock: Bool
    }

    private struct State {
        var resolved = false
        var current: Held?
        /// Invalidated sessions replaced by a new one in this request; deleted at the end.
        var replaced: [Held] = []
        var finished = false
        var saveFailure: SessionManagerError?
        /// Sticky, `sessionBackupAsync`: the session to write after the response (``afterResponse()``).
        var writeAfterResponse: Held?
    }

    /// The context's manager (a user's sessions: ``SessionManager/sessions(of:)``).
    public let manager: SessionManager
    private var executor: SessionExecutor { manager.executor }
    private var table: SessionTable { manager.table }
    /// `true` when the request matched the ignore pattern.
    public let isIgnored: Bool
    private let requestedIDs: RequestedSessionIDs
    private let state = Mutex(State())
    /// Set when locking is on for the context.
    private let locking: Locking?

    init(manager: SessionManager, ignored: Bool, requestedIDs: RequestedSessionIDs, locking: Locking? = nil) {
        self.manager = manager
        self.isIgnored = ignored
        self.requestedIDs = requestedIDs
        self.locking = locking
    }

    /// Whether this request locks its session in the store (see ``ManagerConfiguration/lockingMode``).
    /// The lock is taken when the session is first used, as the load: a request that never uses
    /// its session costs no store operation, locked or not.
    public var locksSession: Bool { locking?.needsLock ?? false }

    /// Set by ``finish()`` when the store could not take this request's session changes (a write
    /// or an invalidation's delete failed because the store is unreachable or timed out, or the
    /// session's lock was lost), and as soon as the session's lock could not be had
    /// (``SessionManagerError/Code/sessionLocked``, even if the app caught that error): the answer
    /// the app prepared claims what the store does not hold, or was made without the session, so
    /// an HTTP layer should not send it. The bundled server answers `503` with `Retry-After`
    /// instead (`Retry-After: 1` for a lock).
    public var saveFailure: SessionManagerError? { state.withLock { $0.saveFailure } }

    /// The session the client's cookies name, if the store knows it; `nil` otherwise (never creates
    /// one). With several cookies, the first id the store knows wins.
    /// - Throws: ``SessionManagerError`` when the store cannot be reached.
    public func existingSession() async throws -> Session? {
        if isIgnored { return nil }
        let (resolved, current) = state.withLock { ($0.resolved, $0.current) }
        if resolved { return current.flatMap { $0.session.isValid ? $0.session : nil } }
        var found: Held?
        for requestedID in requestedIDs {
            do {
                found = try await find(requestedID)
            } catch let error as SessionManagerError where error.code == .sessionLocked {
                state.withLock { $0.saveFailure = $0.saveFailure ?? error }
                throw error
            }
            if found != nil { break }
        }
        let (winner, lost) = state.withLock { state -> (Held?, Bool) in
            if state.resolved { return (state.current, true) }
            state.resolved = true
            state.current = found
            return (state.current, false)
        }
        if lost, let found {
            // A concurrent lookup in this request won; drop ours.
            await end(found)
        }
        return winner.flatMap { $0.session.isValid ? $0.session : nil }
    }

    /// The session for `id` and the lease on it: shared with the requests that have it, waited
    /// for while another request loads it, loaded otherwise; `nil` when the store does not know it.
    private func find(_ id: SessionID) async throws -> Held? {
        while true {
            // Most requests find their session in memory: only a load suspends.
            let (action, lease) = table.begin(id, namesAnotherAppNode: manager.namesAnotherAppNode(id), needsLock: locksSession)
            switch action {
            case .shared(let session):
                // A logged-in session served from memory a while: first make sure another node
                // did not invalidate it (it is then held invalid: the request finds none).
                if executor.principals.revalidationIsDue(session) { await executor.principals.revalidate(session) }
                return Held(session: session, lease: lease, knownID: id)
            case .wait:
                // Usually another request's load; if it finished and its session was released
                // before we queued, look again (the store has its latest state).
                if case .loaded(let session) = try await table.wait(lease, needsLock: locksSession) {
                    return session.map { Held(session: $0, lease: lease, knownID: id) }
                }
            case .load:
                let outcome: SessionLifecycle.LoadOutcome
                do {
                    outcome = try await executor.load(id, needsLock: locksSession)
                } catch {
                    table.completeLoad(lease, .failed(error))
                    throw error
                }
                table.completeLoad(lease, outcome)
                guard case .found(let session, _, _, _) = outcome else { return nil }
                return Held(session: session, lease: lease, knownID: id)
            }
        }
    }

    /// The request's session, created when the client has none the store knows (or it was invalidated).
    /// - Throws: ``SessionManagerError`` for an ignored request or an unreachable store.
    public func session() async throws -> Session {
        if isIgnored {
            throw SessionManagerError(.requestIgnored, "this request matches requestUriIgnorePattern and has no session")
        }
        if let existing = try await existingSession() { return existing }
        let created = manager.makeSession()
        let held = Held(session: created, lease: try manager.register(newSession: created), knownID: nil)
        manager.metrics.created.increment()
        while true {
            // Validity is read outside the state lock (a session's lock is never taken inside it);
            // an invalidated session never becomes valid again, so only the identity is checked
            // under the lock.
            let observed = state.withLock { $0.current }
            if let observed, observed.session.isValid {
                // A concurrent call in this request won; nobody knows this id, so discard it.
                created.invalidate()
                if case .released(_, let wakes, _) = table.release(held.lease, created) { wakes.resume() }
                return observed.session
            }
            let installed = state.withLock { state -> Bool in
                guard state.current?.session === observed?.session else { return false }
                if let old = state.current { state.replaced.append(old) }
                state.current = held
                return true
            }
            if installed { return created }
        }
    }

    /// Ends the request: writes the session if it changed (or deletes it if invalidated) and says
    /// what to do with the cookie. Store failures are logged; the response still goes out.
    public func finish() async -> SessionCookieAction {
        let (current, replaced, resolved) = state.withLock { state -> (Held?, [Held], Bool) in
            guard !state.finished else { return (nil, [], false) }
            state.finished = true
            return (state.current, state.replaced, state.resolved)
        }
        (current == nil ? manager.metrics.requestsWithoutSession : manager.metrics.requestsWithSession).increment()
        if let requestID = locking?.requestID, resolved || current != nil {
            // lockingMode="auto" learns from each request that looked at its session. Creating a
            // session is no change (a fresh id needs no lock), changing one is.
            let modified = !replaced.isEmpty
                || current.map { !$0.session.isValid || $0.session.withState { $0.generation } != $0.startGeneration } ?? false
            manager.learn(requestID: requestID, modified: modified)
        }
        var clientKnewAnInvalidatedSession = false
        for held in replaced {
            clientKnewAnInvalidatedSession = await retire(held) || clientKnewAnInvalidatedSession
        }
        guard let current else { return clientKnewAnInvalidatedSession ? .expire : .none }
        guard current.session.isValid else {
            return await retire(current) || clientKnewAnInvalidatedSession ? .expire : .none
        }
        executor.principals.requestEnded(current.session)
        let placement = executor.place(current.session)
        let timing = SessionLifecycle.writeAtEnd(
            policy: manager.policy,
            placement: placement,
            upToDate: table.isUpToDate(current.lease, current.session.status()),
            clientKnowsID: current.session.id == current.knownID,
            draining: manager.isDraining,
            backupAsync: executor.configuration.sessionBackupAsync,
            backupTimeout: executor.configuration.sessionBackupTimeout
        )
        switch timing {
        case .none:
            break
        case .beforeAnswer:
            _ = await write(current)
        case .beforeAnswerKeptOnFailure:
            await executor.writeResident(current.lease, current.session, beforeAnswer: true)
        case .beforeAnswerWithin(let timeout):
            let executor = self.executor
            await manager.background.run({ await executor.writeResident(current.lease, current.session) }, timeout: timeout)
        case .afterResponse:
            executor.pendingWrites.add(1, ordering: .relaxed)
            state.withLock { $0.writeAfterResponse = current }
        }
        let id = await end(current, keepInMemory: placement == .memoryOnly).id
        return id == current.knownID ? .none : .set(id)
    }

    /// An HTTP layer that never called ``afterResponse()`` must not lose the change: the write
    /// goes to the manager's background work.
    deinit {
        guard let held = state.withLock({ $0.writeAfterResponse }) else { return }
        let executor = manager.executor
        manager.background.submit { await executor.writePending(held.lease, held.session) }
    }

    /// Whether ``finish()`` has run (or is running): a layer that keeps the request's sessions
    /// across calls of its own finishes them when the request ends without its last call.
    package var isFinished: Bool { state.withLock { $0.finished } }

    /// Whether ``afterResponse()`` has a write to do (known once ``finish()`` returned): an HTTP
    /// layer that must wrap the response body to learn when it is written can skip that otherwise.
    public var hasWorkAfterResponse: Bool { state.withLock { $0.writeAfterResponse != nil } }

    /// Sticky mode with `sessionBackupAsync` (the default): writes the session's changes to the
    /// store. Call it once the response has been sent; the bundled server does. The client never
    /// waits for it, and a failure only marks the store node down (the session is written again
    /// after its next request). Returns at once when there is nothing to write.
    public func afterResponse() async {
        guard let held = state.withLock({ state in
            defer { state.writeAfterResponse = nil }
            return state.writeAfterResponse
        }) else { return }
        await executor.writePending(held.lease, held.session)
    }

    /// Drops this request's reference to the session, first writing it when the machine says it
    /// cannot stay resident and the store lacks its latest state. Returns the session's state at
    /// the release.
    @discardableResult
    private func end(_ held: Held, keepInMemory: Bool = false) async -> Session.Status {
        var ifUnsaved = SessionLifecycle.UnsavedSession.askToPersist
        while true {
            switch table.release(held.lease, held.session, ifUnsaved: ifUnsaved, keepInMemory: keepInMemory) {
            case .released(let status, let wakes, let unlock):
                await settle(wakes, unlock)
                return status
            case .persistFirst:
                // Written, it may be released; if it changed meanwhile, it is asked for again.
                if await !write(held) { ifUnsaved = .drop }
            }
        }
    }

    /// Writes the session's changes before the answer; a failure is the request's (logged, and
    /// the answer becomes `503`). Returns whether it worked.
    private func write(_ held: Held) async -> Bool {
        do {
            try await executor.persist(held.lease, held.session)
            return true
        } catch {
            log("session write failed", operation: "write", held.session, error)
            return false
        }
    }

    /// What follows a release: the requests that waited for the hold to end look again, and
    /// when the session left this node locked, its store lock is released first and the requests
    /// waiting on that then look again.
    private func settle(_ wakes: SessionTable.Wakes, _ unlock: SessionTable.Unlock?) async {
        wakes.resume()
        guard let unlock else { return }
        await manager.storage.unlock(unlock.lock)
        table.unlockCompleted(unlock)
    }

    /// Deletes an invalidated session and drops this request's reference; `true` if the client had its cookie.
    private func retire(_ held: Held) async -> Bool {
        do {
            try await executor.delete(held.lease, held.session)
        } catch {
            log("session delete failed", operation: "delete", held.session, error)
        }
        if case .released(_, let wakes, let unlock) = table.release(held.lease, held.session) {
            await settle(wakes, unlock)
        }
        return held.knownID != nil
    }

    /// A failed write or delete: an outage of a store node is logged once by its availability
    /// (see ``NodeAvailability``), so per session it is only a debug line; a command the
    /// store refused fails the request the same way (the client must not see unsaved state) but
    /// says nothing about the node; a session over `maxSessionSize` is an error of this session.
    private func log(_ message: Logger.Message, operation: String, _ session: Session, _ error: any Error) {
        let temporary = SessionExecutor.failsTheRequest(error)
        if temporary {
            let failure = error as? SessionManagerError ?? SessionManagerError(.storeUnavailable, "\(message)", underlying: error)
            let first = state.withLock { state in
                defer { state.saveFailure = state.saveFailure ?? failure }
                return state.saveFailure == nil
            }
            // Counted once per request (a request can fail a delete and a write).
            if first && failure.code != .lockLost && failure.code != .sessionLocked {
                executor.requestFailsForTheStore(operation, session.id, failure)
            }
        }
        manager.logger.log(
            level: temporary ? .debug : .error,
            message,
            metadata: ["sm.session": "\(session.id.logTag)", "sm.error": "\(error)"]
        )
    }
}
