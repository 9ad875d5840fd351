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

/// One request's access to its session: loaded lazily, saved once at the end.
///
/// A request that never asks costs no store operation. An ignored request (see
/// ``ManagerConfiguration/requestUriIgnorePattern``) has no session at all:
/// ``existingSession()`` returns `nil` and ``session()`` throws ``SessionManagerError/Code/requestIgnored``.
public final class RequestSessions: Sendable {
    private enum Resolution {
        case pending
        case resolved(Session?, registeredID: SessionID?, initialID: SessionID?)
        case finished
    }

    private let manager: SessionManager
    /// `true` when the request matched the ignore pattern.
    public let isIgnored: Bool
    private let requestedID: SessionID?
    private let resolution = Mutex<Resolution>(.pending)

    init(manager: SessionManager, ignored: Bool, requestedID: SessionID?) {
        self.manager = manager
        self.isIgnored = ignored
        self.requestedID = requestedID
    }

    /// The session the client's cookie names, if the store knows it; `nil` otherwise (never creates one).
    /// - Throws: ``SessionManagerError`` when the store cannot be reached.
    public func existingSession() async throws -> Session? {
        if isIgnored { return nil }
        if case .resolved(let session, _, _) = resolution.withLock({ $0 }) { return session }
        var found: Session?
        if let requestedID {
            found = try await manager.active.acquire(requestedID) { try await manager.load(requestedID) }
        }
        return adopt(found)
    }

    /// The request's session, created when the client has none the store knows.
    /// - Throws: ``SessionManagerError`` for an ignored request or an unreachable store.
    public func session() async throws -> Session {
        if isIgnored {
            throw SessionManagerError(.requestIgnored, "this request matches requestUriIgnorePattern and has no session")
        }
        if let existing = try await existingSession() { return existing }
        let created = manager.makeSession()
        manager.active.register(created)
        return resolution.withLock { resolution in
            if case .resolved(let session?, _, _) = resolution {
                manager.active.release(created, registeredID: created.id)
                return session
            }
            resolution = .resolved(created, registeredID: created.id, initialID: nil)
            return created
        }
    }

    /// Records the outcome of a lookup; if a concurrent lookup in this request won, drops ours.
    private func adopt(_ found: Session?) -> Session? {
        resolution.withLock { resolution in
            switch resolution {
            case .resolved(let winner, _, _):
                if let found { manager.active.release(found, registeredID: found.id) }
                return winner
            case .pending, .finished:
                resolution = .resolved(found, registeredID: found?.id, initialID: found?.id)
                return found
            }
        }
    }

    /// Ends the request: writes the session if it changed (or deletes it if invalidated) and says
    /// what to do with the cookie. Store failures are logged; the response still goes out.
    public func finish() async -> SessionCookieAction {
        let state = resolution.withLock { state -> Resolution in
            defer { state = .finished }
            return state
        }
        guard case .resolved(let session?, let registeredID?, let initialID) = state else { return .none }
        defer { manager.active.release(session, registeredID: registeredID) }
        do {
            if !session.isValid {
                try await manager.writer.delete(session)
                return initialID == nil ? .none : .expire
            }
            try await manager.writer.persist(session)
        } catch {
            manager.logger.error(
                "session write failed",
                metadata: ["sm.session": "\(session.id.logTag)", "sm.error": "\(error)"]
            )
        }
        let id = session.id
        return id == initialID ? .none : .set(id)
    }
}
