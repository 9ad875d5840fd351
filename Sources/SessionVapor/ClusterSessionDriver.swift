#if VaporSupport
import SessionManager
import Synchronization
import Vapor

/// A Vapor `SessionDriver` on our stores, for an app that keeps its `req.session.data`: with
/// `app.sessions.use(.cluster(driver))` instead of `.memory` or `.redis`, its sessions get TTLs
/// (the context's `maxInactiveInterval`), failover and backups across store nodes, ids that name
/// their node and route, and our ids (128 random bits, never the client's).
///
/// Vapor's `SessionsMiddleware` still decides when the driver is called: it reads the session
/// before every handler of a request with a cookie, asks for an update after every one, and sends
/// the cookie every time. What the driver does with that:
/// - An update writes only what changed since the read (key by key), and nothing when nothing
///   changed: an unchanged session costs one read per request, not a read and a write.
/// - A new session with no data is not stored (Vapor creates one for every unknown cookie): it
///   gets a fresh id only.
/// - A relocation (its store node down, the session moved to the next one) changes the id; the
///   new id is what `updateSession` returns, so Vapor's cookie carries it.
/// - Values are Vapor's strings; a value stored by ``ClusterSessionMiddleware`` as a number or a
///   boolean reads as its text, and other kinds are not shown (nor changed).
/// - `requestUriIgnorePattern` does not apply: Vapor's middleware is on the routes that need a
///   session, and a session it asked for must not be lost.
/// - The store is read at the start and written at the end of the request: two concurrent
///   requests of one session that change the same key keep the last one, as with Vapor's own
///   drivers, unless `lockingMode` locks them (non-sticky). ``ClusterSessionMiddleware`` loads
///   only when asked, sends the cookie only when it changed, and its `update` is atomic.
///
/// A store that cannot be reached answers `503` with `Retry-After` (an `Abort`).
public struct ClusterSessionDriver: AsyncSessionDriver {
    /// The manager whose stores keep the sessions.
    public let manager: SessionManager

    /// A driver on `manager`'s stores; run the manager with the app
    /// (`app.lifecycle.use(SessionManagersLifecycle(managers: [manager]))`, or ``ClusterSessions``).
    public init(manager: SessionManager) {
        self.manager = manager
    }

    public func readSession(_ sessionID: Vapor.SessionID, for request: Request) async throws -> SessionData? {
        // A malformed or forged cookie is no session: Vapor then starts a new one, with our id.
        guard let id = ClusterSessionID(parsing: sessionID.string) else { return nil }
        let exchange = begin(request, requestedID: id)
        guard let session = try await Self.unavailableAsAbort({ try await exchange.sessions.existingSession() }) else { return nil }
        let data = DriverData.strings(of: session)
        exchange.setRead(data)
        return SessionData(initialData: data)
    }

    public func createSession(_ data: SessionData, for request: Request) async throws -> Vapor.SessionID {
        guard !data.snapshot.isEmpty else {
            await request.clusterDriverExchange?.end()
            return Vapor.SessionID(string: manager.makeSession().id.description)
        }
        let exchange = request.clusterDriverExchange ?? begin(request, requestedID: nil)
        let session = try await Self.unavailableAsAbort { try await exchange.sessions.session() }
        DriverData.apply(data.snapshot, over: [:], to: session)
        return Vapor.SessionID(string: try await exchange.save()?.description ?? session.id.description)
    }

    public func updateSession(_ sessionID: Vapor.SessionID, to data: SessionData, for request: Request) async throws -> Vapor.SessionID {
        let exchange = request.clusterDriverExchange ?? begin(request, requestedID: ClusterSessionID(parsing: sessionID.string))
        // Gone since the read (expired, or invalidated by another request): a new session.
        let session = try await Self.unavailableAsAbort { try await exchange.sessions.session() }
        DriverData.apply(data.snapshot, over: exchange.read, to: session)
        guard let newID = try await exchange.save() else { return sessionID }
        return Vapor.SessionID(string: newID.description)
    }

    public func deleteSession(_ sessionID: Vapor.SessionID, for request: Request) async throws {
        let exchange = request.clusterDriverExchange ?? begin(request, requestedID: ClusterSessionID(parsing: sessionID.string))
        try await Self.unavailableAsAbort { try await exchange.sessions.existingSession() }?.invalidate()
        _ = try await exchange.save()
    }

    /// Starts the request's session part and keeps it in the request, for the calls that follow.
    private func begin(_ request: Request, requestedID: ClusterSessionID?) -> DriverExchange {
        let sessions = manager.beginRequestWithoutIgnorePattern(
            method: request.method.rawValue,
            path: Substring(request.url.path),
            query: request.url.query.map { Substring($0) },
            requestedIDs: RequestedSessionIDs(requestedID)
        )
        let exchange = DriverExchange(sessions: sessions)
        request.clusterDriverExchange = exchange
        return exchange
    }

    /// A temporary failure of the session layer, as the `503` Vapor answers for it.
    static func unavailableAsAbort<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SessionManagerError where error.isTemporary {
            throw Abort.sessionUnavailable(error)
        }
    }
}

extension Application.Sessions.Provider {
    /// Vapor's sessions on our stores: `app.sessions.use(.cluster(driver))`.
    public static func cluster(_ driver: ClusterSessionDriver) -> Self {
        .init { app in app.sessions.use { _ in driver } }
    }
}
#endif
