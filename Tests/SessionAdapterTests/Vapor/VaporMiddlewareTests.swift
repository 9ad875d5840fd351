#if VaporSupport
import Foundation
import SessionTesting
import Testing

/// What the Vapor middleware does in Vapor's own terms (the checks every adapter passes are
/// ``AdapterContractTests``).
@Suite(.capturedLog) struct VaporMiddlewareTests {
    /// A handler's error the middleware answers itself (its request created a session, whose
    /// cookie must reach the client) is answered as Vapor's default `ErrorMiddleware` would.
    @Test func anErrorAnsweredWithTheCookieLooksAsVaporsErrorMiddlewareMakesIt() async throws {
        try await VaporTestApp.with { port, _ in
            let bad = try await AdapterContract.get(port, "/myapp/errors/created-then-http-error")
            #expect(bad.status == 400)
            #expect(bad.value("Content-Type")?.hasPrefix("application/json") == true)
            let json = try JSONSerialization.jsonObject(with: Data(bad.body.utf8)) as? [String: Any]
            #expect(json?["error"] as? Bool == true, "\(bad.body)")
            #expect(json?["reason"] as? String == "bad", "\(bad.body)")
            #expect(bad.cookiePair != nil)
        }
    }
}
#endif
