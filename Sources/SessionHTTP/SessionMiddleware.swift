import Logging
import NIOCore
import NIOHTTP1
import SessionManager

/// Connects one request of the bundled server to its context's ``SessionManager``: a thin adapter
/// over the framework-neutral ``SessionHTTPAdapter`` (which reads the cookie, saves the session and
/// decides the `Set-Cookie` and the `503`s).
///
/// An app that lets a temporary session error through (``SessionManagerError/isTemporary``: the
/// store is unreachable or timed out, or the context is at `maxActiveSessions`) answers
/// `503 Service Unavailable` with `Retry-After`; any other error it throws answers `500`. When the
/// session changes of a request could not be saved for such a reason, or its session's lock could
/// not be had (``ManagerConfiguration/lockingMode``), its answer is replaced by the same `503`
/// (`Retry-After: 1` for a lock; its other effects are not undone): the client never sees a
/// count, a login or a logout that the store does not hold.
public struct SessionMiddleware: Sendable {
    /// The framework-neutral request API of the context.
    public let adapter: SessionHTTPAdapter
    /// The manager of the context.
    public var manager: SessionManager { adapter.manager }
    /// Cookie settings.
    public var cookie: SessionCookieConfiguration { adapter.cookie }
    /// The cookie's `Path` (the context path).
    public var cookiePath: String { adapter.cookiePath }
    let logger: Logger

    /// Creates the middleware for a context.
    public init(manager: SessionManager, cookie: SessionCookieConfiguration, contextPath: String, logger: Logger) {
        self.adapter = SessionHTTPAdapter(manager: manager, cookie: cookie, contextPath: contextPath)
        self.logger = logger
    }

    /// Runs `app` for one request with sessions attached. Once the response is sent, call the
    /// returned exchange's ``SessionHTTPExchange/afterResponse()`` (sticky mode writes the session then).
    func respond(
        head: HTTPRequestHead,
        body: ByteBuffer,
        path: Substring,
        query: Substring?,
        contextPath: String,
        app: any HTTPApp
    ) async -> (HTTPResponse, SessionHTTPExchange) {
        let exchange = adapter.beginRequest(
            method: head.method.rawValue,
            path: path,
            query: query,
            requestedIDs: SessionCookie.requestedIDs(in: head.headers, name: adapter.cookie.name)
        )
        let request = HTTPRequest(head: head, body: body, path: path, query: query, contextPath: contextPath, sessions: exchange.sessions)
        let (reply, setCookie) = await exchange.respond { try await app.respond(to: request) }
        var response: HTTPResponse
        switch reply {
        case .unavailable(let replacement):
            // The session layer cannot serve this request now (store down or slow, session limit
            // reached, session locked), or the answer would claim session state the store does not
            // hold. The manager logs a store's state once; per request it is only a debug line.
            logger.debug("request answered 503: \(replacement.error.code)", metadata: ["sm.path": "\(path)", "sm.error": "\(replacement.error)"])
            return (Self.unavailable(replacement), exchange)
        case .answer(let answer):
            response = answer
        case .failed(let error, _):
            logger.error("app failed", metadata: ["sm.path": "\(path)", "sm.error": "\(error)"])
            response = .text("internal server error\n", status: .internalServerError)
        }
        if let setCookie {
            response.headers.add(name: "Set-Cookie", value: setCookie)
        }
        return (response, exchange)
    }

    /// Seconds a client is asked to wait after a `503`.
    public static let retryAfterSeconds = SessionUnavailableAnswer.retryAfterSeconds
    /// Seconds a client is asked to wait after a `503` for a locked session.
    public static let lockedRetryAfterSeconds = SessionUnavailableAnswer.lockedRetryAfterSeconds

    /// The `503` for a temporary failure of the session layer.
    static func unavailable(_ answer: SessionUnavailableAnswer) -> HTTPResponse {
        var response = HTTPResponse.text(answer.body, status: .serviceUnavailable)
        response.headers.add(name: "Retry-After", value: String(answer.retryAfterSeconds))
        return response
    }
}
