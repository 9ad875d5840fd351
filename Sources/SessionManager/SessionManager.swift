import Foundation
import Logging
import Synchronization

/// The session lifecycle for one context (one application): which requests have sessions, where
/// they are loaded from, when they are written.
///
/// An HTTP layer calls ``beginRequest(path:requestedIDs:)`` when a request arrives and
/// ``RequestSessions/finish()`` after the application answered, then sends the cookie that
/// `finish` asks for. `SessionHTTP` does this for the bundled server; a user with another HTTP
/// framework can drive it the same way.
public final class SessionManager: Sendable {
    /// The configuration this manager was built with.
    public let configuration: ManagerConfiguration
    /// The store holding this context's sessions.
    public let store: any SessionStore
    let idGenerator: SessionIDGenerator
    let writer: SessionWriter
    let active: ActiveSessions
    let logger: Logger
    /// Used only to name the writer of a blob the configured transcoder cannot read.
    let knownTranscoders: SessionTranscoders
    /// The store failed and has not worked since (logged when it starts and ends, not per request).
    let storeOutage = StateChangeLog()
    /// New sessions are refused (``ManagerConfiguration/maxActiveSessions``).
    let sessionLimit = StateChangeLog()
    private let rejected = Atomic<Int>(0)
    /// When a full manager last removed expired sessions, so a full table is scanned once a second
    /// at most, not for every refused session.
    private let lastLimitSweep = Mutex<ContinuousClock.Instant?>(nil)

    /// Creates a manager.
    /// - Parameters:
    ///   - configuration: the `<Manager>` settings.
    ///   - store: where sessions are kept.
    ///   - jvmRoute: this node's route, appended to new ids (`nil`: none).
    ///   - logger: for background events (failed writes, corrupt blobs); never logs whole ids.
    ///   - knownTranscoders: the transcoders whose blobs are named in the warning when the
    ///     configured one cannot read a stored session (after a switch of transcoder).
    public init(
        configuration: ManagerConfiguration,
        store: any SessionStore,
        jvmRoute: String? = nil,
        logger: Logger,
        knownTranscoders: SessionTranscoders = .standard
    ) {
        self.knownTranscoders = knownTranscoders
        self.configuration = configuration
        self.store = store
        self.idGenerator = SessionIDGenerator(jvmRoute: jvmRoute)
        // Residency needs a store nobody else writes, and an unfiltered one: with a filter the
        // store lacks the filtered attributes, and a resident copy would keep them for a while.
        let resident = store.isProcessLocal && configuration.sessionAttributeFilter == nil
        self.active = ActiveSessions(residentLimit: resident ? configuration.residentSessionLimit : 0)
        self.writer = SessionWriter(store: store, configuration: configuration, active: active)
        self.logger = logger
    }

    /// Number of sessions that in-flight requests are using on this node.
    public var activeSessionCount: Int { active.count }

    /// Number of new sessions refused because the context held
    /// ``ManagerConfiguration/maxActiveSessions`` (Tomcat's `rejectedSessions`).
    public var rejectedSessionCount: Int { rejected.load(ordering: .relaxed) }

    /// Number of sessions counted against ``ManagerConfiguration/maxActiveSessions``: those held in
    /// memory by this manager and those the store keeps in this process (expired ones not yet removed included).
    public var heldSessionCount: Int { active.entryCount + (store.localSessionCount ?? 0) }

    /// Number of sessions kept resident between requests (see
    /// ``ManagerConfiguration/residentSessionLimit``), expired ones not yet removed included.
    public var residentSessionCount: Int { active.residentCount }

    /// Starts the session part of a request.
    /// - Parameters:
    ///   - path: the request path including the context path, without the query string.
    ///   - requestedIDs: the ids from the client's cookies, in the order sent, already validated by
    ///     ``SessionID/init(parsing:)``; the first one the store knows is the request's session.
    ///     Not evaluated for ignored requests.
    /// - Returns: the request's session access; call ``RequestSessions/finish()`` exactly once at the end.
    public func beginRequest(path: Substring, requestedIDs: @autoclosure () -> RequestedSessionIDs) -> RequestSessions {
        if let pattern = configuration.requestUriIgnorePattern, pattern.matches(path: path) {
            return RequestSessions(manager: self, ignored: true, requestedIDs: RequestedSessionIDs())
        }
        return RequestSessions(manager: self, ignored: false, requestedIDs: requestedIDs())
    }

    /// Starts the session part of a request whose client sent at most one id; see
    /// ``beginRequest(path:requestedIDs:)``.
    public func beginRequest(path: Substring, requestedID: @autoclosure () -> SessionID?) -> RequestSessions {
        beginRequest(path: path, requestedIDs: RequestedSessionIDs(requestedID()))
    }

    /// Loads a session from the store: `nil` when unknown, expired or unreadable (a corrupt blob is
    /// deleted and logged, and the client gets a new session).
    func load(_ id: SessionID) async throws -> ActiveSessions.Loaded? {
        let key = writer.key(for: id)
        let ttl = Duration.seconds(configuration.maxInactiveInterval)
        let bytes: [UInt8]?
        do {
            bytes = try await store.getAndTouch(key, ttl: ttl)
            storeWorked()
        } catch {
            storeFailed(error)
            if let error = error as? SessionManagerError { throw error }
            throw SessionManagerError(.storeUnavailable, "session load failed", underlying: error)
        }
        guard let bytes else { return nil }
        let snapshot: SessionSnapshot
        do {
            snapshot = try configuration.transcoder.decode(bytes)
        } catch {
            let metadata: Logger.Metadata = ["sm.session": "\(id.logTag)", "sm.error": "\(error)"]
            if let writer = knownTranscoders.identify(bytes), writer != configuration.transcoder.name {
                // The cluster switched transcoderFactoryClass: the old sessions are lost, say why.
                logger.warning(
                    "stored session was written by the '\(writer)' transcoder, this context uses '\(configuration.transcoder.name)'; deleted, the client gets a new session",
                    metadata: metadata
                )
            } else {
                logger.warning("stored session is unreadable; deleted, the client gets a new session", metadata: metadata)
            }
            try? await store.delete(key)
            return nil
        }
        guard snapshot.id == id.description else {
            logger.warning("stored session has another id; ignored", metadata: ["sm.session": "\(id.logTag)"])
            return nil
        }
        if snapshot.maxInactiveInterval != configuration.maxInactiveInterval {
            // The touch above used the context default; this session has its own timeout.
            _ = try? await store.touch(key, ttl: .seconds(snapshot.maxInactiveInterval))
        }
        return ActiveSessions.Loaded(session: Session(snapshot: snapshot, id: id, isNew: false, idGenerator: idGenerator), stored: snapshot)
    }

    /// A store operation succeeded: ends an outage, if one was logged. One atomic load otherwise.
    @inline(__always)
    func storeWorked() {
        storeOutage.end { logger.notice("session store available again") }
    }

    /// A store operation failed. A store that cannot be reached or timed out starts an outage:
    /// logged once, until an operation works again (requests meanwhile get `503`). A refusal of one
    /// session (too large) says nothing about the store.
    func storeFailed(_ error: any Error) {
        guard Self.isOutage(error) else { return }
        storeOutage.begin {
            logger.warning(
                "session store unavailable: requests that need a session fail (503) until it answers again",
                metadata: ["sm.error": "\(error)"]
            )
        }
    }

    /// `true` for a failure of the store itself (unreachable, timed out); `false` for the refusal
    /// of one session (too large). A store error that is not a ``SessionManagerError`` counts as an
    /// outage.
    static func isOutage(_ error: any Error) -> Bool {
        (error as? SessionManagerError)?.isTemporary ?? true
    }

    /// Registers a session this request created, unless this context holds
    /// ``ManagerConfiguration/maxActiveSessions`` even after expired sessions are removed: then
    /// throws ``SessionManagerError/Code/tooManySessions``. The memory store's count is read first
    /// and the table's is checked with the insertion, so concurrent creations never overshoot
    /// (a session leaving residency is written to the store before it leaves the table).
    func register(newSession session: Session) throws {
        let limit = configuration.maxActiveSessions
        guard limit >= 0 else { return active.register(session) }
        if active.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) {
            sessionLimit.end { logger.notice("session limit no longer reached: new sessions are created again") }
            return
        }
        // Full: expired sessions go first (at most once a second; each pass scans every session).
        let now = ContinuousClock.now
        let sweep = lastLimitSweep.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        if sweep {
            active.removeExpiredResidents()
            store.removeExpiredSessions()
            if active.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) { return }
        }
        rejected.add(1, ordering: .relaxed)
        sessionLimit.begin {
            logger.warning(
                "session limit reached (maxActiveSessions \(limit)): new sessions are refused (503) until some expire",
                metadata: ["sm.limit": "\(limit)"]
            )
        }
        throw SessionManagerError(.tooManySessions, "this context holds maxActiveSessions (\(limit)) sessions; no new session now")
    }

    /// A new session with a fresh id (never one the client chose).
    func makeSession() -> Session {
        let now = Date()
        let id = idGenerator.makeID()
        let snapshot = SessionSnapshot(
            id: id.description,
            creationTime: now,
            lastAccessedTime: now,
            maxInactiveInterval: configuration.maxInactiveInterval,
            attributes: [:]
        )
        return Session(snapshot: snapshot, id: id, isNew: true, idGenerator: idGenerator)
    }
}
