import Foundation
import Logging
@testable import SessionManager
import SessionTesting
import Testing

/// `maxSessionLifetime`: a session older than that is gone, whatever its activity.
@Suite(.capturedLog) struct SessionLifetimeTests {
    @Test func aCopyPastItsLifetimeIsNotUsed() {
        let id = SessionID(random: String(repeating: "A", count: 32))
        let snapshot = SessionSnapshot(id: id.description, creationTime: Date(), lastAccessedTime: Date(), maxInactiveInterval: 1800, attributes: [:])
        func verdict(sinceCreation: Double, lifetime: Int?) -> SessionLifecycle.LoadVerdict {
            let found = SessionLifecycle.Found(
                requestedID: id, snapshot: snapshot, fromBackup: false, backupNodeWhilePrimaryIsDown: nil, age: 1,
                contextTimeout: 1800, sinceCreation: sinceCreation, maxLifetime: lifetime
            )
            return SessionLifecycle.found(found, stickyRoute: nil, writesBackups: false)
        }
        #expect(verdict(sinceCreation: 3, lifetime: 3) == .pastLifetime)
        #expect(verdict(sinceCreation: 2.9, lifetime: 3) == .adopt(SessionLifecycle.Adoption()))
        #expect(verdict(sinceCreation: 1_000_000, lifetime: nil) == .adopt(SessionLifecycle.Adoption()))
    }

    @Test func theStoreKeepsACopyForTheSmallerOfTheIdleTimeoutAndTheRemainingLifetime() {
        let created = Date()
        let snapshot = SessionSnapshot(id: "x", creationTime: created, lastAccessedTime: created, maxInactiveInterval: 1800, attributes: [:])
        let generator = SessionIDGenerator(jvmRoute: nil)
        let session = Session(snapshot: snapshot, id: SessionID(random: String(repeating: "B", count: 32)), isNew: true, idGenerator: generator, maxLifetime: 10)
        #expect(session.storeTTL(maxInactiveInterval: 1800, now: created.addingTimeInterval(4)) == .seconds(6))
        #expect(session.storeTTL(maxInactiveInterval: 5, now: created.addingTimeInterval(4)) == .seconds(5))
        #expect(session.storeTTL(maxInactiveInterval: 1800, now: created.addingTimeInterval(11)) == .milliseconds(1))
        session.changeSessionId()
        #expect(session.lifetimeEnd == created.addingTimeInterval(10), "a new id keeps the creation time")
    }

    /// A session used every 400 ms is gone after its 2-second lifetime, sticky (resident in
    /// memory) and not, on the memory store.
    @Test(arguments: [true, false])
    func aBusySessionIsGoneAfterItsLifetime(sticky: Bool) async throws {
        var configuration = ManagerConfiguration()
        configuration.sticky = sticky
        configuration.maxSessionLifetime = 2
        try configuration.validate()
        let manager = SessionManager(configuration: configuration, store: MemorySessionStore(), logger: Logger(label: "test"))
        let adapter = SessionHTTPAdapter(manager: manager, contextPath: "/")
        var cookie: String?
        var counts: [Int] = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(3200) {
            let exchange = adapter.beginRequest(method: "GET", path: "/", query: nil, cookieHeaders: cookie.map { ["JSESSIONID=\($0)"] } ?? [])
            let session = try await exchange.sessions.session()
            counts.append(session.update("count", default: 0) { (n: inout Int) -> Int in n += 1; return n })
            let outcome = await exchange.complete()
            await exchange.afterResponse()
            if let set = outcome.setCookie { cookie = String(set.dropFirst("JSESSIONID=".count).prefix { $0 != ";" }) }
            try await Task.sleep(for: .milliseconds(400))
        }
        let restart = try #require(counts.firstIndex(of: 1, after: 0), "sticky=\(sticky): the count starts over: \(counts)")
        #expect(restart >= 4 && restart <= 6, "sticky=\(sticky): after about 2 s of 400 ms requests: \(counts)")
    }
}

extension Array where Element == Int {
    /// The first index after `index` whose element is `value`.
    fileprivate func firstIndex(of value: Int, after index: Int) -> Int? {
        self.indices.dropFirst(index + 1).first { self[$0] == value }
    }
}
