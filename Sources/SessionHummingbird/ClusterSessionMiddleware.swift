#if HummingbirdSupport
import HTTPTypes
import Hummingbird
import Logging
import SessionManager

/// Clustered sessions for the routes of a Hummingbird router or group: a thin adapter over the
/// framework-neutral ``SessionHTTPAdapter``, so it behaves as the bundled server does.
///
/// - The session is loaded only when a handler asks (``ClusterSessionRequestContext/session()``),
///   saved at the end only when it changed, and the cookie is sent only when its id is new or
///   changed (or expired after `invalidate()`).
/// - A temporary ``SessionManagerError`` the handler lets through, or changes the store could not
///   take, or a lock that could not be had, answer `503` with `Retry-After`.
/// - Any other error of the handler is rethrown as it is, unless the request created or renamed
///   its session: then the answer carries the cookie, so the session is not lost to its client
///   (an ``HTTPResponseError``'s own response, or `500`).
/// - Sticky mode writes the session after the response body has been written.
///
/// Add the context's ``SessionManager`` to the application's services
/// (`app.addServices(manager)`): Hummingbird stops the server before its services, so the
/// manager writes what the last requests changed before it stops.
public struct ClusterSessionMiddleware<Context: ClusterSessionRequestContext>: RouterMiddleware {
    /// The framework-neutral request API of the context.
    public let adapter: SessionHTTPAdapter

    /// The middleware of `manager`'s context, mounted at `contextPath` (the cookie's `Path`; `/`
    /// for the whole site).
    public init(manager: SessionManager, cookie: SessionCookieConfiguration = SessionCookieConfiguration(), contextPath: String = "/") {
        self.adapter = SessionHTTPAdapter(manager: manager, cookie: cookie, contextPath: contextPath)
    }

    /// The middleware over an adapter (as ``ClusterSessions`` builds them from a configuration file).
    public init(adapter: SessionHTTPAdapter) {
        self.adapter = adapter
    }

    // `@concurrent`: Hummingbird declares the requirement without nonisolated(nonsending).
    @concurrent
    public func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        let uri = request.uri
        let exchange = adapter.beginRequest(
            method: request.method.rawValue,
            path: Substring(uri.path),
            query: uri.query.map { Substring($0) },
            requestedIDs: SessionCookie.requestedIDs(
                inHeaderValues: request.headers.lazy.filter { $0.name == .cookie }.map(\.value),
                name: adapter.cookie.name
            )
        )
        var context = context
        context.clusterSessions.sessions = exchange.sessions
        let (reply, setCookie) = await exchange.respond { try await next(request, context) }
        var response: Response
        switch reply {
        case .unavailable(let replacement):
            context.logger.debug("request answered 503: \(replacement.error.code)", metadata: ["sm.error": "\(replacement.error)"])
            response = Self.unavailable(replacement)
        case .answer(let answer):
            response = answer
        case .failed(let error, cookieRequired: false):
            await exchange.afterResponse()
            throw error
        case .failed(let error, cookieRequired: true):
            response = Self.failure(error, request: request, context: context)
        }
        if let setCookie {
            response.headers.append(HTTPField(name: .setCookie, value: setCookie))
        }
        guard exchange.sessions.hasWorkAfterResponse else { return response }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                await exchange.afterResponse()
                throw error
            }
            await exchange.afterResponse()
        }
        return response
    }

    /// The `503` for a temporary failure of the session layer.
    static func unavailable(_ answer: SessionUnavailableAnswer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.retryAfter] = String(answer.retryAfterSeconds)
        return Response(status: .serviceUnavailable, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// The answer to a handler's error when the cookie must reach the client anyway.
    static func failure(_ error: any Error, request: Request, context: Context) -> Response {
        if let error = error as? any HTTPResponseError, let response = try? error.response(from: request, context: context) {
            return response
        }
        context.logger.error("handler failed", metadata: ["sm.error": "\(error)"])
        return Response(status: .internalServerError)
    }
}
#endif
