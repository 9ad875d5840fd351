#if HummingbirdSupport
import SessionTesting
import Testing

/// What the Hummingbird middleware does in Hummingbird's own terms (the checks every adapter
/// passes are ``AdapterContractTests``).
@Suite(.capturedLog) struct HummingbirdMiddlewareTests {
    @Test func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated() async throws {
        try await HummingbirdTestApp.with { port, _ in
            let bad = try await AdapterContract.get(port, "/myapp/errors/created-then-http-error")
            #expect(bad.status == 400, "the handler's HTTPError answers")
            #expect(bad.cookiePair != nil, "with the cookie of the session it created")
            let conflict = try await AdapterContract.get(port, "/myapp/errors/http-error")
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
