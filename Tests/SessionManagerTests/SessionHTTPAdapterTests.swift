import Logging
import SessionManager
import SessionTesting
import Testing

/// The framework-neutral request API, driven as an HTTP layer drives it, without sockets.
@Suite(.capturedLog) struct SessionHTTPAdapterTests {
    struct HandlerFailure: Error {}

    static func adapter(
        store: any SessionStore = MemorySessionStore(),
        configure: (inout ManagerConfiguration) throws -> Void = { _ in }
    ) throws -> SessionHTTPAdapter {
        var configuration = ManagerConfiguration()
        try configure(&configuration)
        let manager = SessionManager(configuration: configuration, store: store, logger: Logger(label: "test"))
        return SessionHTTPAdapter(manager: manager, cookie: SessionCookieConfiguration(sameSite: .strict), contextPath: "/myapp")
    }

    /// One request: the handler gets the exchange's sessions; returns the outcome.
    static func request(
        _ adapter: SessionHTTPAdapter,
        path: Substring = "/myapp/count",
        cookies: [String] = [],
        _ handler: (RequestSessions) async throws -> Void
    ) async -> SessionHTTPOutcome {
        let exchange = adapter.beginRequest(method: "GET", path: path, query: nil, cookieHeaders: cookies)
        var handlerError: (any Error)?
        do { try await handler(exchange.sessions) } catch { handlerError = error }
        let outcome = await exchange.complete(handlerError: handlerError)
        await exchange.afterResponse()
        return outcome
    }

    static func id(in setCookie: String?) -> String? {
        guard let setCookie, setCookie.hasPrefix("JSESSIONID=") else { return nil }
        return String(setCookie.dropFirst("JSESSIONID=".count).prefix { $0 != ";" })
    }

    @Test func aNewSessionGetsTheWholeSetCookieValueAndAKnownOneNone() async throws {
        let adapter = try Self.adapter()
        let created = await Self.request(adapter) { sessions in
            try await sessions.session().set("count", 1)
        }
        let id = try #require(Self.id(in: created.setCookie))
        #expect(created.setCookie == "JSESSIONID=\(id); Path=/myapp; HttpOnly; SameSite=Strict")
        #expect(created.replacement == nil)
        let again = await Self.request(adapter, cookies: ["JSESSIONID=\(id)"]) { sessions in
            let count = try await sessions.existingSession()?.get("count", as: Int.self)
            #expect(count == 1)
        }
        #expect(again == SessionHTTPOutcome(setCookie: nil, replacement: nil))
    }

    @Test func severalCookieHeadersAreReadInOrderAndTheFirstKnownIdWins() async throws {
        let adapter = try Self.adapter()
        let id = try #require(Self.id(in: await Self.request(adapter) { try await $0.session().set("who", "user") }.setCookie))
        let planted = String(repeating: "a", count: 32)
        let outcome = await Self.request(adapter, cookies: ["JSESSIONID=\(planted)", "theme=dark; JSESSIONID=\(id)"]) { sessions in
            let who = try await sessions.existingSession()?.get("who", as: String.self)
            #expect(who == "user")
        }
        #expect(outcome.setCookie == nil, "the user's own session: no new cookie")
    }

    @Test func anUnknownIdIsNeverAdopted() async throws {
        let adapter = try Self.adapter()
        let forged = String(repeating: "b", count: 32)
        let outcome = await Self.request(adapter, cookies: ["JSESSIONID=\(forged)"]) { sessions in
            let existing = try await sessions.existingSession()
            #expect(existing == nil)
            _ = try await sessions.session()
        }
        let issued = try #require(Self.id(in: outcome.setCookie))
        #expect(issued != forged)
        #expect(!issued.contains(forged))
    }

    @Test func anInvalidatedSessionExpiresTheCookie() async throws {
        let adapter = try Self.adapter()
        let id = try #require(Self.id(in: await Self.request(adapter) { _ = try await $0.session() }.setCookie))
        let outcome = await Self.request(adapter, cookies: ["JSESSIONID=\(id)"]) { sessions in
            try await sessions.existingSession()?.invalidate()
        }
        #expect(outcome.setCookie == "JSESSIONID=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/myapp; HttpOnly; SameSite=Strict")
    }

    @Test func aTemporaryErrorOfTheHandlerIsA503AndAnyOtherKeepsTheCookie() async throws {
        let adapter = try Self.adapter()
        let unavailable = await Self.request(adapter) { _ in throw SessionManagerError(.storeUnavailable, "test") }
        #expect(unavailable.replacement?.status == 503)
        #expect(unavailable.replacement?.retryAfterSeconds == 5)
        #expect(unavailable.replacement?.body == "service unavailable: session store unavailable; retry later\n")
        let locked = await Self.request(adapter) { _ in throw SessionManagerError(.sessionLocked, "test") }
        #expect(locked.replacement?.retryAfterSeconds == 1)
        // A handler that made a session and then failed: the adapter answers the error, with the
        // cookie, or the session would be lost to its client.
        let failed = await Self.request(adapter) { sessions in
            _ = try await sessions.session()
            throw HandlerFailure()
        }
        #expect(failed.replacement == nil)
        #expect(Self.id(in: failed.setCookie) != nil)
    }

    @Test func aChangeTheStoreCouldNotTakeReplacesTheAnswer() async throws {
        let store = FailingWritesStore(MemorySessionStore())
        let adapter = try Self.adapter(store: store) { $0.sticky = false }
        let id = try #require(Self.id(in: await Self.request(adapter) { try await $0.session().set("count", 1) }.setCookie))
        store.failWrites(true)
        let outcome = await Self.request(adapter, cookies: ["JSESSIONID=\(id)"]) { sessions in
            try await sessions.session().set("count", 2)
        }
        #expect(outcome.replacement?.status == 503)
        #expect(outcome.replacement?.error.code == .storeUnavailable)
        #expect(outcome.setCookie == nil)
    }

    @Test func anIgnoredPathHasNoSessionAndCostsNothing() async throws {
        let store = CountingSessionStore(MemorySessionStore())
        let adapter = try Self.adapter(store: store) { $0.requestUriIgnorePattern = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern) }
        let outcome = await Self.request(adapter, path: "/myapp/logo.png", cookies: ["JSESSIONID=\(String(repeating: "c", count: 32))"]) { sessions in
            let existing = try await sessions.existingSession()
            #expect(existing == nil)
            await #expect(throws: SessionManagerError.self) { try await sessions.session() }
        }
        #expect(outcome == SessionHTTPOutcome(setCookie: nil, replacement: nil))
        #expect(store.counts.total == 0)
    }

    @Test func stickyWritesWaitForAfterResponse() async throws {
        let store = CountingSessionStore(MemorySessionStore())
        let adapter = try Self.adapter(store: store)
        let id = try #require(Self.id(in: await Self.request(adapter) { try await $0.session().set("count", 1) }.setCookie))
        let exchange = adapter.beginRequest(method: "GET", path: "/myapp/count", query: nil, cookieHeaders: ["JSESSIONID=\(id)"])
        try await exchange.sessions.session().set("count", 2)
        let outcome = await exchange.complete()
        #expect(outcome.setCookie == nil)
        #expect(exchange.sessions.hasWorkAfterResponse)
        let before = store.counts.total
        await exchange.afterResponse()
        #expect(store.counts.total > before, "the write happens after the response")
        #expect(!exchange.sessions.hasWorkAfterResponse)
    }

    /// The reply every adapter sends, decided by `respond`: the handler's answer with the cookie,
    /// a `503` for the session layer's temporary failures, and the handler's own error, which the
    /// adapter must answer itself (with the cookie) only when the request created its session.
    @Test func respondDecidesTheReplyAndWhetherAnErrorMustCarryTheCookie() async throws {
        let adapter = try Self.adapter()
        func reply(_ handler: (RequestSessions) async throws -> String) async -> (SessionHTTPReply<String>, String?) {
            let exchange = adapter.beginRequest(method: "GET", path: "/myapp/x", query: nil, cookieHeaders: [String]())
            let result = await exchange.respond { try await handler(exchange.sessions) }
            await exchange.afterResponse()
            return result
        }
        let (created, cookie) = await reply { sessions in
            try await sessions.session().set("n", 1)
            return "ok"
        }
        guard case .answer("ok") = created else { Issue.record("\(created)"); return }
        #expect(cookie?.hasPrefix("JSESSIONID=") == true)

        let (plain, noCookie) = await reply { _ in "plain" }
        guard case .answer("plain") = plain else { Issue.record("\(plain)"); return }
        #expect(noCookie == nil)

        let (unavailable, none) = await reply { _ in throw SessionManagerError(.storeUnavailable, "down") }
        guard case .unavailable(let answer) = unavailable else { Issue.record("\(unavailable)"); return }
        #expect(answer.retryAfterSeconds == 5)
        #expect(none == nil)

        let (failedWithSession, mustCarry) = await reply { sessions in
            _ = try await sessions.session()
            throw HandlerFailure()
        }
        guard case .failed(is HandlerFailure, cookieRequired: true) = failedWithSession else { Issue.record("\(failedWithSession)"); return }
        #expect(mustCarry != nil)

        let (failedAlone, nothing) = await reply { _ in throw HandlerFailure() }
        guard case .failed(is HandlerFailure, cookieRequired: false) = failedAlone else { Issue.record("\(failedAlone)"); return }
        #expect(nothing == nil)
    }
}
