import Foundation
import Logging
@testable import SessionManager
import SessionTesting
import Testing

/// A user's sessions across two app nodes sharing one store (the memory store, seen by the
/// managers as a shared server): the index, log out everywhere, the per-principal limit, and no
/// resurrection by a request or a sticky write of a session invalidated on the other node.
@Suite(.capturedLog) struct PrincipalSessionsTests {
    struct Missing: Error {}

    /// One app node.
    struct Node {
        let manager: SessionManager
        let adapter: SessionHTTPAdapter
    }

    /// Two nodes on one store; `configure` changes both nodes' configuration.
    static func cluster(sticky: Bool, _ configure: (inout ManagerConfiguration) -> Void = { _ in }) -> (Node, Node, MemorySessionStore) {
        let shared = MemorySessionStore()
        var configuration = ManagerConfiguration()
        configuration.sticky = sticky
        configuration.residentRevalidationInterval = .milliseconds(300)
        configure(&configuration)
        func node(_ route: String) -> Node {
            let manager = SessionManager(
                configuration: configuration,
                nodes: [SessionStoreNode(id: nil, store: CountingSessionStore(shared))],
                jvmRoute: route,
                logger: Logger(label: "test")
            )
            return Node(manager: manager, adapter: SessionHTTPAdapter(manager: manager, contextPath: "/"))
        }
        return (node("node1"), node("node2"), shared)
    }

    /// Runs `body` while both nodes' managers run (their background work moves index entries).
    static func running(_ nodes: Node..., body: () async throws -> Void) async throws {
        let tasks = nodes.map { node in Task { try await node.manager.runUntilStopped() } }
        defer {
            for node in nodes { node.manager.stop() }
        }
        try await body()
        for node in nodes { node.manager.stop() }
        for task in tasks { _ = try? await task.value }
    }

    /// Whether `condition` holds within 2 seconds (background work of the managers).
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// One request; the cookie it leaves the client with (`cookie`, a new one, or `nil` when expired).
    @discardableResult
    static func request(_ node: Node, cookie: String? = nil, _ handler: (RequestSessions) async throws -> Void = { _ in }) async throws -> String? {
        let exchange = node.adapter.beginRequest(method: "GET", path: "/", query: nil, cookieHeaders: cookie.map { ["JSESSIONID=\($0)"] } ?? [])
        try await handler(exchange.sessions)
        let outcome = await exchange.complete()
        await exchange.afterResponse()
        guard let header = outcome.setCookie else { return cookie }
        let value = String(header.dropFirst("JSESSIONID=".count).prefix { $0 != ";" })
        return value.isEmpty ? nil : value
    }

    /// A new session on `node`, logged in as `principal`; its cookie.
    static func logIn(_ node: Node, _ principal: String) async throws -> String {
        let cookie = try await request(node) { sessions in
            try await sessions.session().set("device", "test")
            _ = try await sessions.session().logIn(principal: principal)
        }
        return try #require(cookie)
    }

    /// What a request with `cookie` finds on `node`.
    enum Found: Equatable {
        /// No session: the store and the node have none for the cookie.
        case none
        /// A session, logged in as this principal (`nil`: anonymous).
        case session(principal: String?)
    }

    static func principal(_ node: Node, _ cookie: String) async throws -> Found {
        var found = Found.none
        try await request(node, cookie: cookie) { sessions in
            if let session = try await sessions.existingSession() { found = .session(principal: session.principal) }
        }
        return found
    }

    static func storeKeys(_ store: MemorySessionStore, of cookie: String) async throws -> Bool {
        let id = try #require(SessionID(parsing: cookie))
        return try await store.getVersioned(id.storeKey(prefix: "sm:")) != nil
    }

    @Test(arguments: [true, false])
    func logOutEverywhereExceptTheCurrentSession(sticky: Bool) async throws {
        let (node1, node2, store) = Self.cluster(sticky: sticky)
        try await Self.running(node1, node2) {
            let a = try await Self.logIn(node1, "alice")
            let b = try await Self.logIn(node1, "alice")
            let c = try await Self.logIn(node2, "alice")
            let d = try await Self.logIn(node2, "alice")
            _ = try await Self.logIn(node2, "bob")
            let listed = try await node2.manager.sessions(of: "alice")
            #expect(Set(listed.map(\.id.description)) == [a, b, c, d], "every node lists every session of the user")
            #expect(listed.allSatisfy { $0.attributes["device"] == .string("test") })

            let current = try #require(SessionID(parsing: a))
            #expect(try await node1.manager.invalidateSessions(of: "alice", except: current) == 3)
            #expect(try await Self.principal(node1, b) == Found.none, "node1's own copy is dropped at once")
            // node2 holds c and d resident (sticky): it looks again after residentRevalidationInterval.
            try await Task.sleep(for: .milliseconds(350))
            for cookie in [b, c, d] {
                let node = cookie == b ? node1 : node2
                #expect(try await Self.principal(node, cookie) == Found.none, "no session any more")
                #expect(try await !Self.storeKeys(store, of: cookie), "and no copy in the store")
            }
            #expect(try await Self.principal(node1, a) == .session(principal: "alice"), "the current session stays")
            #expect(try await node2.manager.sessions(of: "alice").map(\.id.description) == [a])
            #expect(try await node1.manager.sessions(of: "bob").count == 1, "another user's sessions are left alone")
        }
    }

    @Test(arguments: [PrincipalLimitPolicy.invalidateOldest, .reject])
    func thePerPrincipalLimit(policy: PrincipalLimitPolicy) async throws {
        let (node1, node2, _) = Self.cluster(sticky: false) {
            $0.maxSessionsPerPrincipal = 2
            $0.principalLimitPolicy = policy
        }
        try await Self.running(node1, node2) {
            let first = try await Self.logIn(node1, "carol")
            try await Task.sleep(for: .milliseconds(5))  // logins in one millisecond tie: the oldest must be clear
            let second = try await Self.logIn(node2, "carol")
            try await Task.sleep(for: .milliseconds(5))
            switch policy {
            case .invalidateOldest:
                let third = try await Self.logIn(node1, "carol")
                #expect(try await Self.principal(node2, first) == Found.none, "the oldest login is gone")
                #expect(Set(try await node2.manager.sessions(of: "carol").map(\.id.description)) == [second, third])
                #expect(node1.manager.principalLimitEvictionCount == 1)
            case .reject:
                var refusal: SessionManagerError?
                let anonymous = try await Self.request(node1) { sessions in
                    let session = try await sessions.session()
                    do {
                        try await session.logIn(principal: "carol")
                    } catch let error as SessionManagerError {
                        refusal = error
                    }
                    #expect(session.principal == nil, "a refused login leaves the session as it was")
                }
                #expect(refusal?.code == .tooManySessionsForPrincipal)
                #expect(anonymous != nil)
                #expect(Set(try await node2.manager.sessions(of: "carol").map(\.id.description)) == [first, second])
                #expect(node1.manager.principalLimitRefusalCount == 1)
            }
        }
    }

    /// A request of the session on node2 runs while node1 logs the user out everywhere: its
    /// change (written before its answer, non-sticky; after it, sticky) does not bring it back.
    @Test(arguments: [true, false])
    func aRequestUnderWayDoesNotBringBackAnInvalidatedSession(sticky: Bool) async throws {
        let (node1, node2, store) = Self.cluster(sticky: sticky)
        try await Self.running(node1, node2) {
            let cookie = try await Self.logIn(node2, "dave")
            _ = try await Self.request(node2, cookie: cookie) { sessions in
                guard let session = try await sessions.existingSession() else { throw Missing() }
                #expect(try await node1.manager.invalidateSessions(of: "dave") == 1)
                session.set("late", 1)
            }
            #expect(try await !Self.storeKeys(store, of: cookie), "the late write did not bring it back")
            #expect(try await Self.principal(node2, cookie) == Found.none)
            #expect(node2.manager.foundInvalidatedElsewhereCount >= 1)
        }
    }

    @Test func changeSessionIdMovesTheIndexEntry() async throws {
        let (node1, _, _) = Self.cluster(sticky: false)
        try await Self.running(node1) {
            let cookie = try await Self.logIn(node1, "erin")
            let changedCookie = try await Self.request(node1, cookie: cookie) { sessions in
                guard let session = try await sessions.existingSession() else { throw Missing() }
                session.changeSessionId()
            }
            let changed = try #require(changedCookie)
            #expect(changed != cookie)
            // The entry moves in the background.
            #expect(try await Self.eventually { try await node1.manager.sessions(of: "erin").map(\.id.description) == [changed] })
            try await Self.request(node1, cookie: changed) { sessions in
                guard let session = try await sessions.existingSession() else { throw Missing() }
                session.logOut()
            }
            #expect(try await Self.eventually { try await node1.manager.sessions(of: "erin").isEmpty })
        }
    }
}
