#if VaporSupport
import SessionManager
import Vapor

extension Request {
    /// The request's session: the one the client's cookie names if the store knows it, otherwise a
    /// new one (the id is always ours, never the client's). Loaded on the first call only. Named
    /// apart from Vapor's `req.session`, which is Vapor's own sessions (or ``ClusterSessionDriver``).
    /// - Throws: ``SessionManagerError``: a temporary one (store unreachable, session locked, too
    ///   many sessions) becomes a `503` with `Retry-After` if the handler lets it through;
    ///   ``SessionManagerError/Code/requestIgnored`` for a path under `requestUriIgnorePattern`,
    ///   ``SessionManagerError/Code/invalidConfiguration`` on a route without
    ///   ``ClusterSessionMiddleware``.
    public func clusterSession() async throws -> ClusterSession {
        try await clusterSessions().session()
    }

    /// The session the client's cookie names, if the store knows it; never creates one. `nil` on
    /// an ignored path. A request that calls neither this nor ``clusterSession()`` costs no store
    /// command.
    public func existingClusterSession() async throws -> ClusterSession? {
        try await clusterSessions().existingSession()
    }

    /// The request's sessions, for what ``RequestSessions`` offers beyond the two calls above.
    /// - Throws: ``SessionManagerError/Code/invalidConfiguration`` on a route without
    ///   ``ClusterSessionMiddleware``.
    public func clusterSessions() throws -> RequestSessions {
        guard let sessions = clusterSessionSlot else {
            throw SessionManagerError(.invalidConfiguration, "no ClusterSessionMiddleware on this route: add it to the app or the route's group")
        }
        return sessions
    }

    /// Where ``ClusterSessionMiddleware`` keeps the request's sessions.
    var clusterSessionSlot: RequestSessions? {
        get { storage[ClusterSessionsKey.self] }
        set { storage[ClusterSessionsKey.self] = newValue }
    }

    private struct ClusterSessionsKey: StorageKey {
        typealias Value = RequestSessions
    }
}
#endif
