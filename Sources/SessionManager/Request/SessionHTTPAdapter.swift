/// A context's sessions as any HTTP layer sees them: its ``SessionManager``, its cookie and the
/// cookie's path. The framework-neutral request API: the bundled server's `SessionMiddleware`,
/// `SessionHummingbird`'s middleware and any other HTTP layer are thin adapters over it.
///
/// Per request, an adapter:
/// 1. calls ``beginRequest(method:path:query:cookieHeaders:)`` with what it read off the request;
/// 2. runs the handler with the exchange's ``SessionHTTPExchange/sessions``;
/// 3. calls ``SessionHTTPExchange/complete(handlerError:)`` and does what the
///    ``SessionHTTPOutcome`` says: send the handler's answer with ``SessionHTTPOutcome/setCookie``,
///    or ``SessionHTTPOutcome/replacement`` (a `503`) instead;
/// 4. calls ``SessionHTTPExchange/afterResponse()`` once the response has been written (sticky
///    mode writes the session then).
///
/// It knows no HTTP types (no NIO, no `HTTPTypes`): headers are strings, the status a number.
public struct SessionHTTPAdapter: Sendable {
    /// The context's manager.
    public let manager: SessionManager
    /// Cookie settings.
    public let cookie: SessionCookieConfiguration
    /// The cookie's `Path`: the context path, `/` for the root context.
    public let cookiePath: String

    /// Creates the adapter of a context mounted at `contextPath` (`""` or `/` for the root).
    public init(manager: SessionManager, cookie: SessionCookieConfiguration = SessionCookieConfiguration(), contextPath: String) {
        self.manager = manager
        self.cookie = cookie
        self.cookiePath = contextPath.isEmpty ? "/" : contextPath
    }

    /// Starts one request's session handling. Costs no store operation: the session is loaded
    /// when the handler first asks for it.
    /// - Parameters:
    ///   - method: The request method (`GET`); `lockingMode="auto"` learns per method and path.
    ///   - path: The request path, without the query (matched against `requestUriIgnorePattern`).
    ///   - query: The query string without `?`, if any.
    ///   - cookieHeaders: The values of the request's `Cookie` headers, in the order received.
    public func beginRequest(
        method: String,
        path: Substring,
        query: Substring?,
        cookieHeaders: some Sequence<String>
    ) -> SessionHTTPExchange {
        beginRequest(
            method: method,
            path: path,
            query: query,
            requestedIDs: SessionCookie.requestedIDs(inHeaderValues: cookieHeaders, name: cookie.name)
        )
    }

    /// The same, for a layer that has already read the session ids (with
    /// ``SessionCookie/requestedIDs(inHeaderValues:name:)`` over its own headers, without copying
    /// their values); `requestedIDs` is not evaluated on an ignored path.
    public func beginRequest(
        method: String,
        path: Substring,
        query: Substring?,
        requestedIDs: @autoclosure () -> RequestedSessionIDs
    ) -> SessionHTTPExchange {
        SessionHTTPExchange(sessions: manager.beginRequest(method: method, path: path, query: query, requestedIDs: requestedIDs()), adapter: self)
    }

    /// The `Set-Cookie` value announcing `id`.
    public func setCookie(_ id: SessionID) -> String {
        SessionCookie.setCookie(id, path: cookiePath, configuration: cookie)
    }

    /// The `Set-Cookie` value that makes the browser drop the session cookie.
    public var expiringCookie: String {
        SessionCookie.expiringCookie(path: cookiePath, configuration: cookie)
    }
}
