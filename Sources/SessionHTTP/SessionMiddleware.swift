import Logging
import NIOCore
import NIOHTTP1
import SessionManager

/// Connects one request to its context's ``SessionManager``: reads the cookie, runs the app with
/// lazy session access, saves the session, and adds `Set-Cookie` when the id is new or changed.
///
/// An app that lets a temporary session error through (``SessionManagerError/isTemporary``: the
/// store is unreachable or timed out, or the context is at `maxActiveSessions`) answers
/// `503 Service Unavailable` with `Retry-After`; any other error it throws answers `500`. When the
/// session changes of a request could not be saved for such a reason, or its session's lock could
/// not be had (``ManagerConfiguration/lockingMode``), its answer is replaced by the same `503`
/// (`Retry-After: 1` for a lock; its other effects are not undone): the client never sees a
/// count, a login or a logout that the store does not hold.
public struct SessionMiddleware: Sendable {
    /// The manager of the context.
    public let manager: SessionManager
    /// Cookie settings.
    public let cookie: SessionCookieConfiguration
    /// The cookie's `Path` (the context path).
    public let cookiePath: String
    let logger: Logger

    /// Creates the middleware for a context.
    public init(manager: SessionManager, cookie: SessionCookieConfiguration, contextPath: String, logger: Logger) {
        self.manager = manager
        self.cookie = cookie
        self.cookiePath = contextPath.isEmpty ? "/" : contextPath
        self.logger = logger
    }

    /// Runs `app` for one request with sessions attached. Once the response is sent, call the
    /// returned sessions' ``RequestSessions/afterResponse()`` (sticky mode writes the session then).
    func respond(
        head: HTTPRequestHead,
        body: ByteBuffer,
        path: Substring,
        query: Substring?,
        contextPath: String,
        app: any HTTPApp
    ) async -> (HTTPResponse, RequestSessions) {
        let sessions = manager.beginRequest(
            method: head.method.rawValue,
            path: path,
            query: query,
            requestedIDs: SessionCookie.requestedIDs(in: head.headers, name: cookie.name)
        )
        let request = HTTPRequest(head: head, body: body, path: path, query: query, contextPath: contextPath, sessions: sessions)
        var response: HTTPResponse
        do {
            response = try await app.respond(to: request)
        } catch let error as SessionManagerError where error.isTemporary {
            // The session layer cannot serve this request now (store down or slow, session limit
            // reached). The manager logs that state once; per request it is only a debug line.
            logger.debug("request failed: \(error.code)", metadata: ["sm.path": "\(path)", "sm.error": "\(error)"])
            response = Self.unavailable(error)
        } catch {
            logger.error("app failed", metadata: ["sm.path": "\(path)", "sm.error": "\(error)"])
            response = .text("internal server error\n", status: .internalServerError)
        }
        let cookieAction = await sessions.finish()
        if let failure = sessions.saveFailure {
            // The answer would claim session state the store does not hold (an update, a new
            // session, a logout): the client is told to retry instead.
            logger.debug("session not saved: \(failure.code)", metadata: ["sm.path": "\(path)", "sm.error": "\(failure)"])
            return (Self.unavailable(failure), sessions)
        }
        switch cookieAction {
        case .none:
            break
        case .set(let id):
            response.headers.add(name: "Set-Cookie", value: SessionCookie.setCookie(id, path: cookiePath, configuration: cookie))
        case .expire:
            response.headers.add(name: "Set-Cookie", value: SessionCookie.expiringCookie(path: cookiePath, configuration: cookie))
        }
        return (response, sessions)
    }

    /// Seconds a client is asked to wait after a `503`.
    public static let retryAfterSeconds = 5
    /// Seconds a client is asked to wait after a `503` for a session locked by another request (or
    /// whose lock was lost): the lock is usually free again within a request's time.
    public static let lockedRetryAfterSeconds = 1

    /// The `503` for a temporary failure of the session layer.
    static func unavailable(_ error: SessionManagerError) -> HTTPResponse {
        let (reason, retryAfter): (String, Int)
        switch error.code {
        case .tooManySessions: (reason, retryAfter) = ("too many sessions", retryAfterSeconds)
        case .sessionLocked: (reason, retryAfter) = ("session locked by another request", lockedRetryAfterSeconds)
        case .lockLost: (reason, retryAfter) = ("session lock lost, changes not saved", lockedRetryAfterSeconds)
        default: (reason, retryAfter) = ("session store unavailable", retryAfterSeconds)
        }
        var response = HTTPResponse.text("service unavailable: \(reason); retry later\n", status: .serviceUnavailable)
        response.headers.add(name: "Retry-After", value: String(retryAfter))
        return response
    }
}
