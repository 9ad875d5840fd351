#if VaporSupport
import NIOHTTP1
import SessionHTTP
import SessionManager
import Vapor

/// Clustered sessions for the routes of a Vapor app or route group: a thin adapter over the
/// framework-neutral ``SessionHTTPAdapter``, so it behaves as the bundled server does.
///
/// - The session is loaded only when a handler asks (``Vapor/Request/clusterSession()``), saved at
///   the end only when it changed, and the cookie is sent only when its id is new or changed (or
///   expired after `invalidate()`). Vapor's own `SessionsMiddleware` reads the store before every
///   handler and writes and re-sends the cookie after every one.
/// - A temporary ``SessionManagerError`` the handler lets through, changes the store could not
///   take, or a lock that could not be had, answer `503` with `Retry-After`.
/// - Any other error of the handler is rethrown as it is (for Vapor's `ErrorMiddleware`), unless
///   the request created or renamed its session: then the error is answered here as Vapor's
///   default `ErrorMiddleware` would, with the cookie, so the session is not lost to its client.
/// - Sticky mode writes the session once the response has been handed to Vapor, in a task of its
///   own: Vapor 4 has no hook after the body is written, and the client never waits for the store.
///
/// Register the managers with the application (`app.lifecycle.use(sessions)` for
/// ``ClusterSessions``, or ``SessionManagersLifecycle``): they run while the app runs and stop
/// after its server, writing what the last requests changed.
public struct ClusterSessionMiddleware: Middleware {
    /// The framework-neutral request API of the context.
    public let adapter: SessionHTTPAdapter
    /// One task executor per event loop, made once.
    private let executors = EventLoopExecutors()

    /// The middleware of `manager`'s context, mounted at `contextPath` (the cookie's `Path`; `/`
    /// for the whole site).
    public init(manager: SessionManager, cookie: SessionCookieConfiguration = SessionCookieConfiguration(), contextPath: String = "/") {
        self.adapter = SessionHTTPAdapter(manager: manager, cookie: cookie, contextPath: contextPath)
    }

    /// The middleware over an adapter (as ``ClusterSessions`` builds them from a configuration file).
    public init(adapter: SessionHTTPAdapter) {
        self.adapter = adapter
    }

    /// Runs the request's session part, and an async route behind it, in a task on the request's
    /// event loop: Vapor's `AsyncMiddleware` and async routes would each start a task on the global
    /// pool instead, and on two cores the hops there and back (waking a pool thread) cost more
    /// than the session work of a small request. As in the bundled server, a handler that blocks
    /// its thread holds up the other requests of its event loop: keep handlers non-blocking.
    public func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let url = request.url
        let exchange = adapter.beginRequest(
            method: request.method.rawValue,
            path: Substring(url.path),
            query: url.query.map { Substring($0) },
            requestedIDs: SessionCookie.requestedIDs(in: request.headers, name: adapter.cookie.name)
        )
        request.clusterSessionSlot = exchange.sessions
        let promise = request.eventLoop.makePromise(of: Response.self)
        let executor = executors.executor(for: request.eventLoop)
        Task(executorPreference: executor) {
            do {
                promise.succeed(try await Self.respond(request, exchange, next, executor))
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    private static func respond(
        _ request: Request,
        _ exchange: SessionHTTPExchange,
        _ next: any Responder,
        _ executor: EventLoopTaskExecutor
    ) async throws -> Response {
        let (reply, setCookie) = await exchange.respond { () async throws -> Response in
            // An async route (Vapor's `AsyncBasicResponder`) is called here, on this task: Vapor
            // would start a task for it on the global pool and hop back to the loop with its answer.
            if let asyncNext = next as? any AsyncResponder {
                let response: Response = try await asyncNext.respond(to: request)
                return response
            }
            return try await next.respond(to: request).get()
        }
        let response: Response
        switch reply {
        case .unavailable(let replacement):
            request.logger.debug("request answered 503: \(replacement.error.code)", metadata: ["sm.error": "\(replacement.error)"])
            response = Self.unavailable(replacement)
        case .answer(let answer):
            response = answer
        case .failed(let error, cookieRequired: false):
            Self.afterResponse(exchange, on: executor)
            throw error
        case .failed(let error, cookieRequired: true):
            response = try await Self.failure(error, request: request)
        }
        if let setCookie {
            response.headers.add(name: .setCookie, value: setCookie)
        }
        Self.afterResponse(exchange, on: executor)
        return response
    }

    /// Starts the after-response step (sticky writes) off the response's path, when there is one:
    /// a task on the request's event loop, which runs it once the loop has written the response
    /// (succeeding the response's promise writes it first).
    static func afterResponse(_ exchange: SessionHTTPExchange, on executor: EventLoopTaskExecutor) {
        guard exchange.sessions.hasWorkAfterResponse else { return }
        Task(executorPreference: executor) { await exchange.afterResponse() }
    }

    /// The `503` for a temporary failure of the session layer.
    static func unavailable(_ answer: SessionUnavailableAnswer) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: .contentType, value: "text/plain; charset=utf-8")
        headers.add(name: .retryAfter, value: String(answer.retryAfterSeconds))
        return Response(status: .init(statusCode: answer.status), headers: headers, body: .init(string: answer.body))
    }

    /// The answer to a handler's error when the cookie must reach the client anyway: what Vapor's
    /// default `ErrorMiddleware` makes of it (an `AbortError`'s status, headers and reason).
    static func failure(_ error: any Error, request: Request) async throws -> Response {
        try await ErrorMiddleware.default(environment: request.application.environment)
            .respond(to: request, chainingTo: FailingResponder(error: error))
            .get()
    }

    /// A responder that fails with the handler's error, for `ErrorMiddleware` to answer.
    private struct FailingResponder: Responder {
        let error: any Error
        func respond(to request: Request) -> EventLoopFuture<Response> {
            request.eventLoop.makeFailedFuture(error)
        }
    }
}
#endif
