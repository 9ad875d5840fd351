import Logging
import NIOCore
import NIOHTTP1
import SessionManager

/// Connects one request to its context's ``SessionManager``: reads the cookie, runs the app with
/// lazy session access, saves the session, and adds `Set-Cookie` when the id is new or changed.
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

    /// Runs `app` for one request with sessions attached.
    func respond(
        head: HTTPRequestHead,
        body: ByteBuffer,
        path: Substring,
        query: Substring?,
        contextPath: String,
        app: any HTTPApp
    ) async -> HTTPResponse {
        let sessions = manager.beginRequest(
            path: path,
            requestedID: SessionCookie.requestedID(in: head.headers, name: cookie.name)
        )
        let request = HTTPRequest(head: head, body: body, path: path, query: query, contextPath: contextPath, sessions: sessions)
        var response: HTTPResponse
        do {
            response = try await app.respond(to: request)
        } catch {
            logger.error("app failed", metadata: ["sm.path": "\(path)", "sm.error": "\(error)"])
            response = .text("internal server error\n", status: .internalServerError)
        }
        switch await sessions.finish() {
        case .none:
            break
        case .set(let id):
            response.headers.add(name: "Set-Cookie", value: SessionCookie.setCookie(id, path: cookiePath, configuration: cookie))
        case .expire:
            response.headers.add(name: "Set-Cookie", value: SessionCookie.expiringCookie(path: cookiePath, configuration: cookie))
        }
        return response
    }
}
