import Foundation
import Logging
import SessionTesting
import Testing

@testable import SessionManager

/// Residency: with a process-local store, sessions stay in memory between requests as the primary
/// copy; they expire, stay bounded, and are written to the store only when they leave memory alive.
@Suite(.capturedLog) struct ResidentSessionTests {
    let store = CountingSessionStore(MemorySessionStore(), isProcessLocal: true)

    func makeManager(_ configure: (inout ManagerConfiguration) -> Void = { _ in }) -> SessionManager {
        var configuration = ManagerConfiguration()
        configure(&configuration)
        return SessionManager(configuration: configuration, store: store, jvmRoute: "node1", logger: Logger(label: "test"))
    }

    /// One request that runs `body` with its sessions and returns the cookie action.
    @discardableResult
    func request(
        _ manager: SessionManager,
        id: SessionID?,
        _ body: (RequestSessions) async throws -> Void = { _ in }
    ) async throws -> SessionCookieAction {
        let sessions = manager.beginRequest(path: "/app/x", requestedID: id)
        try await body(sessions)
        let action = await sessions.finish()
        await sessions.afterResponse()
        return action
    }

    /// A new session with `count` = 1, saved; returns its id.
    func create(_ manager: SessionManager) async throws -> SessionID {
        var created: SessionID?
        try await request(manager, id: nil) { sessions in
            let session = try await sessions.session()
            session.set("count", 1)
            created = session.id
        }
        return try #require(created)
    }

    func count(_ manager: SessionManager, _ id: SessionID) async throws -> Int? {
        var count: Int?
        try await request(manager, id: id) { count = try await $0.existingSession()?.get("count", as: Int.self) }
        return count
    }

    @Test func theMemoryStoreIsProcessLocalSoItsSessionsStayResident() async throws {
        let manager = SessionManager(configuration: .init(), store: MemorySessionStore(), logger: Logger(label: "test"))
        _ = try await create(manager)
        #expect(manager.residentSessionCount == 1)
        #expect(manager.activeSessionCount == 0)
    }

    /// The policy, not the store, decides: `.storeOnly` makes even the memory store read on every
    /// request, and `.resident` keeps sessions of a store that says it is shared.
    @Test func theResidencyPolicyOverridesWhatTheStoreSays() async throws {
        let storeOnly = makeManager { $0.residency = .storeOnly }
        let id = try await create(storeOnly)
        #expect(storeOnly.residentSessionCount == 0)
        store.reset()
        #expect(try await count(storeOnly, id) == 1)
        #expect(store.counts.getAndTouch == 1, "read from the store")

        let shared = CountingSessionStore(MemorySessionStore(), isProcessLocal: false)
        var configuration = ManagerConfiguration()
        configuration.residency = .resident
        let resident = SessionManager(configuration: configuration, store: shared, jvmRoute: "node1", logger: Logger(label: "test"))
        let residentID = try await create(resident)
        #expect(resident.residentSessionCount == 1)
        shared.reset()
        #expect(try await count(resident, residentID) == 1)
        #expect(shared.counts.total == 0, "served from memory")
        // Automatic follows the store and msm's sticky: a shared store keeps sessions resident
        // only in sticky mode (the default), where every change is written to the store as well.
        var nonSticky = ManagerConfiguration()
        nonSticky.sticky = false
        let automatic = SessionManager(configuration: nonSticky, store: shared, jvmRoute: "node1", logger: Logger(label: "test"))
        _ = try await create(automatic)
        #expect(automatic.residentSessionCount == 0)
        let sticky = SessionManager(configuration: .init(), store: shared, jvmRoute: "node1", logger: Logger(label: "test"))
        shared.reset()
        let stickyID = try await create(sticky)
        #expect(sticky.residentSessionCount == 1)
        #expect(shared.counts.set == 1, "sticky: a new session is written to the shared store too")
        shared.reset()
        #expect(try await count(sticky, stickyID) == 1)
        #expect(shared.counts.total == 0, "sticky: read from memory")
    }

    /// Sticky mode: an HTTP layer that forgets ``RequestSessions/afterResponse()`` loses no
    /// change (the write goes to the running manager's background work), and a session
    /// invalidated before its write after the response is not written back.
    @Test func stickyWritesAreNotLostWithoutAfterResponseNorResurrectedAfterAnInvalidation() async throws {
        let shared = CountingSessionStore(MemorySessionStore(), isProcessLocal: false)
        let manager = SessionManager(configuration: .init(), store: shared, jvmRoute: "node1", logger: Logger(label: "test"))
        let running = Task { try await manager.runUntilStopped() }
        defer { manager.stop() }
        var created: SessionID?
        do {
            let sessions = manager.beginRequest(path: "/app/x", requestedID: nil)
            let session = try await sessions.session()
            session.set("count", 7)
            created = session.id
            _ = await sessions.finish()  // no afterResponse()
        }
        let id = try #require(created)
        var stored: [UInt8]?
        for _ in 0..<100 where stored == nil {
            stored = try await shared.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(60))
            if stored == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(stored != nil, "written by the background work")

        // A change whose write is pending, then an invalidation by another request first.
        let changing = manager.beginRequest(path: "/app/x", requestedID: id)
        try await changing.session().set("count", 8)
        _ = await changing.finish()
        let invalidating = manager.beginRequest(path: "/app/x", requestedID: id)
        try await invalidating.existingSession()?.invalidate()
        #expect(await invalidating.finish() == .expire)
        await changing.afterResponse()
        #expect(try await shared.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(60)) == nil, "not written back")
        manager.stop()
        try await running.value
    }

    @Test func aResidentSessionCostsNoStoreOperation() async throws {
        let manager = makeManager()
        let id = try await create(manager)
        #expect(try await count(manager, id) == 1)
        var isNew: Bool?
        let action = try await request(manager, id: id) { sessions in
            let session = try await sessions.session()
            isNew = session.isNew
            session.update("count", default: 0) { (n: inout Int) in n += 1 }
        }
        #expect(action == .none)
        #expect(isNew == false, "a resident session is not new to the requests that find it")
        #expect(try await count(manager, id) == 2)
        #expect(store.counts.total == 0, "created, read and changed in memory only")
        #expect(manager.residentSessionCount == 1)
    }

    @Test func aResidentSessionsLastAccessTimeIsTheEndOfItsLastRequest() async throws {
        let manager = makeManager()
        let id = try await create(manager)
        var times: [Date] = []
        for _ in 0..<2 {
            try await Task.sleep(for: .milliseconds(20))
            try await request(manager, id: id) { sessions in
                if let session = try await sessions.existingSession() { times.append(session.lastAccessedTime) }
            }
        }
        #expect(times.count == 2)
        #expect(times[1].timeIntervalSince(times[0]) >= 0.015, "a read-only request counts as an access")
    }

    @Test func aSessionThatMustLeaveMemoryIsWrittenFirstAndReadBackLater() async throws {
        let manager = makeManager { $0.residentSessionLimit = 1 }
        _ = try await create(manager)  // takes the only place
        let id = try await create(manager)
        #expect(store.counts.set == 1, "no room: written before it leaves memory")
        #expect(manager.residentSessionCount == 1)

        store.reset()
        #expect(try await count(manager, id) == 1)
        #expect(store.counts == { var c = CountingSessionStore.Counts(); c.getAndTouch = 1; return c }(), "unchanged: not written again")

        try await request(manager, id: id) { try await $0.existingSession()?.update("count", default: 0) { (n: inout Int) in n += 1 } }
        #expect(store.counts.set == 1, "changed: written before it leaves memory")
        #expect(try await count(manager, id) == 2)
    }

    @Test func aResidentSessionExpiresAfterItsMaxInactiveInterval() async throws {
        let manager = makeManager { $0.maxInactiveInterval = 1 }
        let id = try await create(manager)
        #expect(try await count(manager, id) == 1)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(try await count(manager, id) == nil)
        #expect(manager.residentSessionCount == 0)
    }

    @Test func maxSessionSizeAppliesWhenASessionLeavesMemory() async throws {
        let manager = makeManager {
            $0.maxSessionSize = 1024
            $0.residentSessionLimit = 1
        }
        _ = try await create(manager)  // takes the only place
        let id = try await create(manager)  // written, read from the store from now on
        try await request(manager, id: id) { sessions in
            try await sessions.session()["big"] = .bytes([UInt8](repeating: 7, count: 4096))
        }
        #expect(manager.activeSessionCount == 0 && manager.residentSessionCount == 1)
        store.reset()
        var big: SessionValue?
        var count: Int?
        try await request(manager, id: id) { sessions in
            let session = try await sessions.existingSession()
            big = session?["big"]
            count = session?.get("count", as: Int.self)
        }
        #expect(big == nil && count == 1, "the refused write left the stored copy, as without residency")
        #expect(store.counts.getAndTouch == 1)
    }

    @Test func anInvalidatedSessionIsNotKept() async throws {
        let manager = makeManager()
        let id = try await create(manager)
        let action = try await request(manager, id: id) { try await $0.existingSession()?.invalidate() }
        #expect(action == .expire)
        #expect(manager.residentSessionCount == 0)
        #expect(try await count(manager, id) == nil)
    }

    @Test func aChangedIdIsResidentUnderTheNewIdOnly() async throws {
        let manager = makeManager()
        let old = try await create(manager)
        var new: SessionID?
        try await request(manager, id: old) { new = try await $0.existingSession()?.changeSessionId() }
        let newID = try #require(new)
        store.reset()
        #expect(try await count(manager, newID) == 1)
        #expect(store.counts.getAndTouch == 0)
        #expect(try await count(manager, old) == nil)
        #expect(manager.residentSessionCount == 1)
    }

    @Test func theResidentSetIsBoundedAndTheRestIsReadFromTheStore() async throws {
        let manager = makeManager { $0.residentSessionLimit = 2 }
        let ids = [try await create(manager), try await create(manager), try await create(manager)]
        #expect(manager.residentSessionCount == 2)
        store.reset()
        for id in ids { #expect(try await count(manager, id) == 1) }
        #expect(store.counts.getAndTouch == 1, "the session that did not fit is loaded")
        #expect(manager.residentSessionCount == 2)
    }

    @Test func expiredResidentSessionsAreRemovedWhenTheSetIsFull() async throws {
        let manager = makeManager {
            $0.residentSessionLimit = 2
            $0.maxInactiveInterval = 1
        }
        _ = try await create(manager)
        _ = try await create(manager)
        try await Task.sleep(for: .milliseconds(2100))
        let third = try await create(manager)
        #expect(manager.residentSessionCount == 1, "both expired sessions were removed, the new one kept")
        store.reset()
        #expect(try await count(manager, third) == 1)
        #expect(store.counts.getAndTouch == 0)
    }

    @Test func anAttributeFilterTurnsResidencyOff() async throws {
        let manager = makeManager { $0.sessionAttributeFilter = try? SessionAttributeFilter("count") }
        let id = try await create(manager)
        #expect(manager.residentSessionCount == 0)
        store.reset()
        #expect(try await count(manager, id) == 1)
        #expect(store.counts.getAndTouch == 1)
    }

    @Test func residencyOffReadsTheStoreEveryRequest() async throws {
        let manager = makeManager { $0.residentSessionLimit = 0 }
        let id = try await create(manager)
        #expect(manager.residentSessionCount == 0)
        store.reset()
        #expect(try await count(manager, id) == 1)
        #expect(store.counts.getAndTouch == 1)
    }

    @Test func aWaiterThatFindsTheSessionResidentLooksAgainAndSharesIt() async throws {
        // C loads, B queues behind C's load too late: C has loaded, used and released the
        // session, which is now resident. B must get that instance, not a second copy.
        let id = try await create(makeManager { $0.residentSessionLimit = 0 })  // written to the store
        let manager = makeManager()  // a fresh table on the same store
        let table = manager.table
        let (c, cLease) = table.begin(id)
        guard case .load = c else { Issue.record("C should load"); return }
        let (b, bLease) = table.begin(id)
        guard case .wait = b else { Issue.record("B should wait"); return }
        let load = try await manager.executor.load(id, needsLock: false)
        guard case .found(let loaded, _, _, _) = load else { Issue.record("C should find it"); return }
        table.completeLoad(cLease, load)
        _ = table.release(cLease, loaded)
        #expect(table.residentCount == 1)
        guard case .lookAgain = try await table.wait(bLease) else {
            Issue.record("B should look again")
            return
        }
        guard case (.shared(let shared), _) = table.begin(id) else { Issue.record("B should find it resident"); return }
        #expect(shared === loaded)
        #expect(table.residentCount == 0 && table.count == 1)
    }

    @Test func concurrentUpdatesOnAResidentSessionAreNeverLost() async throws {
        let manager = makeManager()
        let id = try await create(manager)
        try await incrementConcurrently(manager, id, clients: 16, requestsEach: 200)
        #expect(try await count(manager, id) == 3201)
        #expect(manager.activeSessionCount == 0 && manager.residentSessionCount == 1)
        #expect(store.counts.total == 0)
    }

    @Test func concurrentUpdatesOnASessionThatKeepsLeavingMemoryAreNeverLost() async throws {
        // One resident place, taken: every release of this session writes it and drops it, and
        // the next request loads it again, so loads, writes and shared instances interleave.
        let manager = makeManager { $0.residentSessionLimit = 1 }
        _ = try await create(manager)
        let id = try await create(manager)
        try await incrementConcurrently(manager, id, clients: 8, requestsEach: 100)
        #expect(try await count(manager, id) == 801)
        #expect(manager.activeSessionCount == 0)
    }
}
