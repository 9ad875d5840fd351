import Foundation
import Logging

/// The session lifecycle for one context (one application): which requests have sessions, where
/// they are loaded from, when they are written.
///
/// An HTTP layer calls ``beginRequest(path:requestedID:)`` when a request arrives and
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
        self.writer = SessionWriter(store: store, configuration: configuration)
        // Residency needs a store nobody else writes, and an unfiltered one: with a filter the
        // store lacks the filtered attributes, and a resident copy would keep them for a while.
        let resident = store.isProcessLocal && configuration.sessionAttributeFilter == nil
        self.active = ActiveSessions(residentLimit: resident ? configuration.residentSessionLimit : 0)
        self.logger = logger
    }

    /// Number of sessions that in-flight requests are using on this node.
    public var activeSessionCount: Int { active.count }

    /// Number of sessions kept resident between requests (see
    /// ``ManagerConfiguration/residentSessionLimit``), expired ones not yet removed included.
    public var residentSessionCount: Int { active.residentCount }

    /// Starts the session part of a request.
    /// - Parameters:
    ///   - path: the request path including the context path, without the query string.
    ///   - requestedID: the id from the client's cookie, already validated by ``SessionID/init(parsing:)``;
    ///     not evaluated for ignored requests.
    /// - Returns: the request's session access; call ``RequestSessions/finish()`` exactly once at the end.
    public func beginRequest(path: Substring, requestedID: @autoclosure () -> SessionID?) -> RequestSessions {
        if let pattern = configuration.requestUriIgnorePattern, pattern.matches(path: path) {
            return RequestSessions(manager: self, ignored: true, requestedID: nil)
        }
        return RequestSessions(manager: self, ignored: false, requestedID: requestedID())
    }

    /// Loads a session from the store: `nil` when unknown, expired or unreadable (a corrupt blob is
    /// deleted and logged, and the client gets a new session).
    func load(_ id: SessionID) async throws -> Session? {
        let key = writer.key(for: id)
        let ttl = Duration.seconds(configuration.maxInactiveInterval)
        let bytes: [UInt8]?
        do {
            bytes = try await store.getAndTouch(key, ttl: ttl)
        } catch let error as SessionManagerError {
            throw error
        } catch {
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
        return Session(snapshot: snapshot, id: id, isNew: false, idGenerator: idGenerator)
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
