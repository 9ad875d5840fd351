#if VaporSupport
import SessionTesting
import Testing

/// What the Vapor middleware does in Vapor's own terms (the checks every adapter passes are
/// ``AdapterContractTests``).
@Suite(.capturedLog) struct VaporMiddlewareTests {
    /// A handler's error goes to Vapor's `ErrorMiddleware` as it is, unless the request created
    /// its session: then it is answered here, as `ErrorMiddleware` would, with the cookie.
    @Test func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated() async throws {
        try await VaporTestApp.with { port, _ in
            let bad = try await AdapterContract.get(port, "/myapp/errors/created-then-abort")
            #expect(bad.status == 400, "the handler's Abort answers")
            #expect(bad.body.contains("\"reason\":\"bad\""), "as Vapor's ErrorMiddleware: \(bad.body)")
            #expect(bad.cookiePair != nil, "with the cookie of the session it created")
            let conflict = try await AdapterContract.get(port, "/myapp/errors/abort")
            #expect(conflict.status == 409)
            #expect(conflict.cookiePair == nil)
            let failed = try await AdapterContract.get(port, "/myapp/errors/created-then-failure")
            #expect(failed.status == 500)
            #expect(failed.cookiePair != nil)
            let unavailable = try await AdapterContract.get(port, "/myapp/errors/unavailable")
            #expect(unavailable.status == 503)
            #expect(unavailable.value("Retry-After") == "5")
            #expect(unavailable.body == "service unavailable: session store unavailable; retry later\n")
            #expect(try await AdapterContract.get(port, "/no-middleware").status == 500, "a route without the middleware has no session")
        }
    }
}
#endif
