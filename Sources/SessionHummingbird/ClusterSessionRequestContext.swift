#if HummingbirdSupport
import Hummingbird
import SessionManager

/// A Hummingbird request context that carries the request's clustered session, set by
/// ``ClusterSessionMiddleware``. Handlers call ``session()`` and ``existingSession()``.
///
/// Adopt it in your own context with one stored property:
/// ```swift
/// struct AppContext: ClusterSessionRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var clusterSessions = ClusterSessionSlot()
///     init(source: Source) { coreContext = .init(source: source) }
/// }
/// ```
/// or use ``BasicClusterSessionRequestContext``.
public protocol ClusterSessionRequestContext: RequestContext {
    /// Where the middleware puts the request's sessions. Handlers use ``session()`` instead.
    var clusterSessions: ClusterSessionSlot { get set }
}

/// The request's sessions in a request context (empty until ``ClusterSessionMiddleware`` runs).
public struct ClusterSessionSlot: Sendable {
    /// The request's lazy access to its session; `nil` on a route without the middleware.
    public internal(set) var sessions: RequestSessions?

    /// An empty slot.
    public init() {}
}

extension ClusterSessionRequestContext {
    /// The request's session: the one the client's cookie names if the store knows it, otherwise
    /// a new one (the id is always ours, never the client's). Loaded on the first call only.
    /// - Throws: ``SessionManagerError``: a temporary one (store unreachable, session locked, too
    ///   many sessions) becomes a `503` with `Retry-After` if the handler lets it through;
    ///   ``SessionManagerError/Code/requestIgnored`` for a path under `requestUriIgnorePattern`.
    public func session() async throws -> Session {
        try await requestSessions().session()
    }

    /// The session the client's cookie names, if the store knows it; never creates one. `nil` on
    /// an ignored path. A request that calls neither this nor ``session()`` costs no store command.
    public func existingSession() async throws -> Session? {
        try await requestSessions().existingSession()
    }

    /// The request's sessions, for what ``RequestSessions`` offers beyond the two calls above.
    public func requestSessions() throws -> RequestSessions {
        guard let sessions = clusterSessions.sessions else {
            throw SessionManagerError(.invalidConfiguration, "no ClusterSessionMiddleware on this route: add it to the router or the route's group")
        }
        return sessions
    }
}

/// The simplest context with clustered sessions, for apps that need nothing else in theirs.
public struct BasicClusterSessionRequestContext: ClusterSessionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var clusterSessions = ClusterSessionSlot()

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
#endif
