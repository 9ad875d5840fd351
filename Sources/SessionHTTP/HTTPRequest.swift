import NIOCore
import NIOHTTP1
import SessionManager

/// A complete HTTP request as an app sees it: head, body and session access.
public struct HTTPRequest: Sendable {
    /// The request line and headers as received.
    public let head: HTTPRequestHead
    /// The body (empty when none was sent).
    public let body: ByteBuffer
    /// The path, context path included, without the query string (still percent-encoded).
    public let path: Substring
    /// The query string without `?`, if any.
    public let query: Substring?
    /// The path of the context the request was routed to (`""` for the root context).
    public let contextPath: String
    /// The session of this request, loaded on first use.
    public let sessions: RequestSessions

    /// The request method.
    public var method: HTTPMethod { head.method }
    /// The request headers.
    public var headers: HTTPHeaders { head.headers }
    /// The path below the context path (`/count` for `/myapp/count`; `/` for `/myapp`).
    public var pathInContext: Substring {
        let rest = path.dropFirst(contextPath.utf8.count)
        return rest.isEmpty ? "/" : rest
    }

    /// The session, created if the client has none. See ``RequestSessions/session()``.
    public func session() async throws -> Session { try await sessions.session() }

    /// The client's existing session, never creating one. See ``RequestSessions/existingSession()``.
    public func existingSession() async throws -> Session? { try await sessions.existingSession() }
}
