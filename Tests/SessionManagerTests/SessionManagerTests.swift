import Foundation
import Logging
import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct SessionManagerTests {
    let store = CountingSessionStore(MemorySessionStore())

    func makeManager(_ configure: (inout ManagerConfiguration) -> Void = { _ in }) -> SessionManager {
        var configuration = ManagerConfiguration()
        configuration.sticky = false  // a shared store read by every request (sticky mode: StickySessionTests)
        configure(&configuration)
        return SessionManager(configuration: configuration, store: store, jvmRoute: "node1", logger: Logger(label: "test"))
    }

    /// One request that runs `body` with its sessions and returns the cookie action.
    func request(
        _ manager: SessionManager,
        id: SessionID?,
        path: Substring = "/app/x",
        _ body: (RequestSessions) async throws -> Void = { _ in }
    ) async throws -> SessionCookieAction {
        let sessions = manager.beginRequest(path: path, requestedID: id)
        try await body(sessions)
        return await sessions.finish()
    }

    @Test func aRequestThatNeverAsksCostsNothing() async throws {
        let manager = makeManager()
        let action = try await request(manager, id: SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF"))
        #expect(action == .none)
        #expect(store.counts.total == 0)
    }

    @Test func newSessionIsSavedOnceAndAnnounced() async throws {
        let manager = makeManager()
        var created: SessionID?
        let action = try await request(manager, id: nil) { created = try await $0.session().id }
        #expect(action == .set(try #require(created)))
        #expect(created?.jvmRoute == "node1")
        #expect(store.counts == { var c = CountingSessionStore.Counts(); c.set = 1; return c }())
    }

    @Test func readOnlyRequestIsOneStoreReadAndNoCookie() async throws {
        let manager = makeManager()
        var id: SessionID?
        _ = try await request(manager, id: nil) { id = try await $0.session().id }
        store.reset()
        let action = try await request(manager, id: id) { let value = try await $0.existingSession(); #expect(value != nil) }
        #expect(action == .none)
        #expect(store.counts.total == 1)
        #expect(store.counts.getAndTouch == 1)
    }

    @Test func modifyingRequestIsOneReadAndOneWrite() async throws {
        let manager = makeManager()
        var id: SessionID?
        _ = try await request(manager, id: nil) { id = try await $0.session().id }
        store.reset()
        _ = try await request(manager, id: id) { try await $0.session().set("x", 1) }
        #expect(store.counts.getAndTouch == 1)
        #expect(store.counts.set == 1)
        #expect(store.counts.total == 2)
        // Writing the same value again is not a change: no write.
        store.reset()
        _ = try await request(manager, id: id) { try await $0.session().set("x", 1) }
        #expect(store.counts.set == 0)
    }

    @Test func unknownWellFormedIDIsNeverAdopted() async throws {
        let manager = makeManager()
        let forged = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF.node1"))
        var got: SessionID?
        let action = try await request(manager, id: forged) { got = try await $0.session().id }
        #expect(got != nil && got != forged)
        #expect(got?.random != forged.random)
        #expect(action == .set(try #require(got)))
    }

    @Test func invalidateDeletesTheSessionAndExpiresTheCookie() async throws {
        let manager = makeManager()
        var id: SessionID?
        _ = try await request(manager, id: nil) { id = try await $0.session().id }
        let action = try await request(manager, id: id) { try await $0.session().invalidate() }
        #expect(action == .expire)
        let next = try await request(manager, id: id) { let value = try await $0.existingSession(); #expect(value == nil) }
        #expect(next == .none)
    }

    @Test func changeSessionIdMovesTheSessionAndRetiresTheOldID() async throws {
        let manager = makeManager()
        var old: SessionID?
        _ = try await request(manager, id: nil) { try await $0.session().set("user", "alice"); old = try await $0.session().id }
        var new: SessionID?
        let action = try await request(manager, id: old) { new = try await $0.session().changeSessionId() }
        #expect(action == .set(try #require(new)))
        #expect(new?.random != old?.random)
        #expect(new?.jvmRoute == "node1")
        _ = try await request(manager, id: new) { let value = try await $0.existingSession()?.get("user", as: String.self); #expect(value == "alice") }
        _ = try await request(manager, id: old) { let value = try await $0.existingSession(); #expect(value == nil) }
    }

    @Test func corruptStoredSessionIsDeletedAndReplaced() async throws {
        let manager = makeManager()
        let id = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF.node1"))
        try await store.base.set(id.storeKey(prefix: "sm:"), value: [0x53, 0x4D, 0x42, 1, 0xFF], ttl: .seconds(60))
        var got: SessionID?
        _ = try await request(manager, id: id) { got = try await $0.session().id }
        #expect(got != id)
        #expect(try await store.base.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(1)) == nil)
    }

    @Test func ignoredRequestHasNoSessionAndTouchesNothing() async throws {
        let manager = makeManager { $0.requestUriIgnorePattern = try? RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern) }
        var id: SessionID?
        _ = try await request(manager, id: nil) { id = try await $0.session().id }
        store.reset()
        let action = try await request(manager, id: id, path: "/app/logo.png") { sessions in
            #expect(sessions.isIgnored)
            let existing = try await sessions.existingSession()
            #expect(existing == nil)
            await #expect(throws: SessionManagerError.self) { try await sessions.session() }
        }
        #expect(action == .none)
        #expect(store.counts.total == 0)
    }

    @Test func concurrentUpdatesOnOneSessionAreNeverLost() async throws {
        let manager = makeManager()
        var created: SessionID?
        _ = try await request(manager, id: nil) { created = try await $0.session().id }
        let id = try #require(created)
        try await incrementConcurrently(manager, id, clients: 16, requestsEach: 200)
        _ = try await request(manager, id: id) { let value = try await $0.existingSession()?.get("count", as: Int.self); #expect(value == 3200) }
        #expect(manager.activeSessionCount == 0)
    }

    @Test func aWaiterThatArrivesAfterTheLoadAndTheReleaseLooksAgain() async throws {
        // The interleaving behind a lost update seen once in 25 runs of the test above: B sees C
        // loading, but before B queues up, C's load completes and C releases the session. B must
        // not conclude that the session does not exist (it would start a new one and the
        // client's update would land there); it looks again and loads the stored state.
        let manager = makeManager()
        let session = manager.makeSession()
        let table = manager.table
        let (c, cLease) = table.begin(session.id)
        guard case .load = c else { Issue.record("C should load"); return }
        let (b, bLease) = table.begin(session.id)
        guard case .wait = b else { Issue.record("B should wait"); return }
        table.completeLoad(cLease, .found(session, stored: session.capture(now: Date()).snapshot, id: session.id))
        _ = table.release(cLease, session)
        guard case .lookAgain = try await table.wait(bLease) else {
            Issue.record("B was told the session is gone")
            return
        }
        let (again, againLease) = table.begin(session.id)
        guard case .load = again else { Issue.record("B should load it again"); return }
        table.completeLoad(againLease, .notFound)
        #expect(table.count == 0)
    }

    @Test func overlappingLoadsShareOneInstanceSoNoUpdateIsLost() async throws {
        // Request B starts loading while A's load is in flight; A then increments, saves and
        // finishes before B's read would return. A second copy loaded by B would be stale.
        let slow = DelayingSessionStore(MemorySessionStore(), readDelay: .milliseconds(100))
        let manager = SessionManager(configuration: .init(), store: slow, logger: Logger(label: "test"))
        var created: SessionID?
        _ = try await request(manager, id: nil) { created = try await $0.session().id }
        let id = try #require(created)
        func increment() async throws {
            _ = try await request(manager, id: id) { try await $0.session().update("count", default: 0) { (n: inout Int) in n += 1 } }
        }
        async let a: Void = increment()
        try await Task.sleep(for: .milliseconds(30))
        async let b: Void = increment()
        _ = try await (a, b)
        _ = try await request(manager, id: id) { let value = try await $0.existingSession()?.get("count", as: Int.self); #expect(value == 2) }
    }

    @Test func invalidateThenNewSessionInOneRequest() async throws {
        let manager = makeManager()
        var old: SessionID?
        _ = try await request(manager, id: nil) { try await $0.session().set("user", "alice"); old = try await $0.session().id }
        var new: SessionID?
        let action = try await request(manager, id: old) { sessions in
            try await sessions.session().invalidate()
            let existing = try await sessions.existingSession()
            #expect(existing == nil)
            let fresh = try await sessions.session()
            #expect(fresh.get("user", as: String.self) == nil)
            new = fresh.id
        }
        #expect(action == .set(try #require(new)))
        _ = try await request(manager, id: old) { let value = try await $0.existingSession(); #expect(value == nil) }
        _ = try await request(manager, id: new) { let value = try await $0.existingSession(); #expect(value != nil) }
        #expect(manager.activeSessionCount == 0)
    }

    @Test func sessionKeptInMemoryByOverlappingRequestsStaysAliveInTheStore() async throws {
        let manager = makeManager { $0.maxInactiveInterval = 1 }
        var created: SessionID?
        _ = try await request(manager, id: nil) { created = try await $0.session().id }
        let id = try #require(created)
        // A long request holds the session for 1.6 s (longer than its 1 s timeout) while short
        // read-only requests share the in-memory instance and never read the store.
        let long = manager.beginRequest(path: "/app/x", requestedID: id)
        _ = try await long.existingSession()
        for _ in 0..<16 {
            try await Task.sleep(for: .milliseconds(100))
            _ = try await request(manager, id: id) { let value = try await $0.existingSession(); #expect(value != nil) }
        }
        _ = await long.finish()
        _ = try await request(manager, id: id) { let value = try await $0.existingSession(); #expect(value != nil) }
    }

    @Test func sessionWithOwnTimeoutExpires() async throws {
        let manager = makeManager { $0.maxInactiveInterval = 1 }
        var id: SessionID?
        _ = try await request(manager, id: nil) { id = try await $0.session().id }
        try await Task.sleep(for: .milliseconds(2100))
        _ = try await request(manager, id: id) { let value = try await $0.existingSession(); #expect(value == nil) }
    }
}

@Suite(.capturedLog) struct RequestURIIgnorePatternTests {
    @Test(arguments: [
        ("/myapp/logo.png", true), ("/myapp/a/b/style.css", true), ("/myapp/x.js", true), ("/myapp/count", false),
        ("/myapp/x.png/count", false), ("/myapp/png", false), ("/myapp/x.PNG", false), ("/myapp/.png", true),
    ])
    func extensionFastPathMatchesLikeTheRegex(path: String, ignored: Bool) throws {
        let fast = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern)
        // The same pattern in a form the fast path does not recognise goes through Regex.
        let regex = try RequestURIIgnorePattern(#"(?:.*\.(ico|png|gif|jpg|css|js))$"#)
        #expect(fast.matches(path: Substring(path)) == ignored)
        #expect(regex.matches(path: Substring(path)) == ignored)
    }

    @Test func wholeMatchIsRequired() throws {
        let pattern = try RequestURIIgnorePattern("/static/.*")
        #expect(pattern.matches(path: "/static/a"))
        #expect(!pattern.matches(path: "/app/static/a"))
    }

    @Test func invalidRegexIsAConfigurationError() {
        #expect(throws: SessionManagerError.self) { try RequestURIIgnorePattern("(unclosed") }
    }
}

@Suite(.capturedLog) struct SessionTests {
    @Test func typedAccessAndUpdate() throws {
        let manager = SessionManager(configuration: .init(), store: MemorySessionStore(), logger: Logger(label: "t"))
        let session = manager.makeSession()
        session.set("name", "bob")
        session.set("tags", ["a", "b"])
        session.set("blob", [UInt8]([1, 2]))
        #expect(session.get("name", as: String.self) == "bob")
        #expect(session.get("tags", as: [String].self) == ["a", "b"])
        #expect(session["blob"] == .bytes([1, 2]))
        #expect(session.get("name", as: Int.self) == nil)
        let result = session.update("n", default: 10) { (n: inout Int) -> Int in n *= 2; return n }
        #expect(result == 20)
        session.removeValue(forKey: "name")
        #expect(session["name"] == nil)
        #expect(Set(session.attributeNames) == ["tags", "blob", "n"])
    }
}
