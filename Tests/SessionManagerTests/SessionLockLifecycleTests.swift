import Foundation
import SessionTesting
import Testing
@testable import SessionManager

/// The store lock in the lifecycle machine, one event at a time (no store): who joins a locked
/// hold, who waits for it to end, when a lock is renewed or counts as lost, and what the
/// departure of the session releases.
@Suite(.capturedLog) struct SessionLockLifecycleTests {
    typealias Machine = SessionLifecycle
    let t0 = ContinuousClock.now
    let base = SessionLifecycleTests()

    func lock(_ token: String = "t1", ttl: Duration = .seconds(5)) -> SessionLock {
        SessionLock(node: 0, lock: StoreLock(key: "lock:k", token: Array(token.utf8)), ttl: ttl)
    }

    /// Loaded by a request that took `lock` (or none), at `t0`.
    func held(lock: SessionLock?) -> (Machine, Session) {
        let (session, snapshot) = base.makeSession()
        var machine = Machine.loading(now: t0)
        _ = machine.loadCompleted(.found(session, stored: snapshot, id: session.id, lock: lock), now: t0)
        return (machine, session)
    }

    @Test func requestsJoinALockedHoldAndTheLastOneReleasesTheLock() {
        var (machine, session) = held(lock: lock())
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0 + .milliseconds(10), needsLock: true)) == "shared")
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0 + .milliseconds(10), needsLock: false)) == "shared")
        for _ in 0..<2 {
            #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        }
        #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .remove)
        #expect(machine.departed() == .init(unlock: lock(), wake: []))
        // While the lock is being released, requests wait (finding no entry, they would try to lock
        // and find it still taken); they look again once it is released.
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0, needsLock: true)) == "wait")
        #expect(machine.waiterArrived(3, needsLock: true, now: t0) == nil)
        #expect(machine.unlockCompleted() == [3])
    }

    @Test func aRequestThatMustLockWaitsForAnUnlockedHoldToEnd() {
        var (machine, session) = held(lock: nil)
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0, needsLock: false)) == "shared", "no lock needed: joins")
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0, needsLock: true)) == "wait")
        #expect(machine.waiterArrived(9, needsLock: true, now: t0) == nil)
        _ = machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0)
        #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .remove)
        #expect(machine.departed() == .init(unlock: nil, wake: [9]), "woken to look again, and then lock it")
    }

    @Test func waitersOfALoadThatTookNoLockDoNotJoinIfTheyMustLock() {
        let (session, snapshot) = base.makeSession()
        var machine = Machine.loading(now: t0)
        #expect(machine.waiterArrived(1, needsLock: false, now: t0) == nil)
        #expect(machine.waiterArrived(2, needsLock: true, now: t0) == nil)
        let completion = machine.loadCompleted(.found(session, stored: snapshot, id: session.id, lock: nil), now: t0)
        #expect(completion.wakes.map(\.0) == [1])
        #expect(machine.releaseWaiters == [2])
        guard case .active(let references) = machine.phase else { Issue.record("not active"); return }
        #expect(references == 2)
    }

    @Test func aLockedHoldPastItsQuantumAdmitsNoNewRequest() {
        var (machine, _) = held(lock: lock())
        let late = t0 + Machine.holdQuantum + .milliseconds(1)
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: late, needsLock: false)) == "wait")
        #expect(machine.waiterArrived(4, now: late) == nil)
        #expect(machine.releaseWaiters == [4], "another node waiting for the lock gets its turn")
    }

    @Test func aLockIsRenewedAtHalfItsLifeAndAFailedRenewalLosesIt() {
        var (machine, session) = held(lock: lock(ttl: .seconds(4)))
        #expect(machine.lockRenewalDue(now: t0 + .seconds(1)) == nil)
        let due = machine.lockRenewalDue(now: t0 + .seconds(2))
        #expect(due == lock(ttl: .seconds(4)))
        let renewed = SessionLock(node: 0, lock: StoreLock(key: "lock:k", token: Array("t1".utf8), version: 2), ttl: .seconds(4))
        #expect(machine.lockRenewed(lock(ttl: .seconds(4)), as: renewed, startedAt: t0 + .seconds(2)) == false)
        #expect(machine.lockRenewalDue(now: t0 + .seconds(3)) == nil, "renewed at 2 s: next at 4 s")
        session.set("a", 2)
        // Past the renewed lock's life without another renewal: it may have expired in the store.
        let late = base.persist(&machine, session, at: t0 + .seconds(6))
        #expect(late == .lockLost)
        let inTime = base.persist(&machine, session, at: t0 + .seconds(5))
        #expect(Self.writes(inTime))

        let (otherMachine, otherSession) = held(lock: lock())
        var other = otherMachine
        let lost = other.lockRenewed(lock(), as: nil, startedAt: t0 + .seconds(3))
        #expect(lost, "the store no longer has it as ours")
        otherSession.set("a", 3)
        let otherStatus = otherSession.status()
        let action = base.persist(&other, otherSession, at: t0 + .seconds(3))
        #expect(action == .lockLost)
        _ = other.requestReleased(status: otherStatus, residency: .off, ifUnsaved: .askToPersist, now: t0)
        let departure = other.departed()
        #expect(departure.unlock == nil, "a lost lock is not released: it may be another node's now")
    }

    @Test(arguments: [false, true])
    func theLastRequestsWriteReleasesTheLockAndNobodyJoinsMeanwhile(fails: Bool) {
        var (machine, session) = held(lock: lock())
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0, needsLock: true)) == "shared")
        session.set("a", 2)
        var status = session.status()
        let shared = base.persist(&machine, session)
        guard case .write(let first) = shared else { Issue.record("a write expected"); return }
        #expect(first.unlock == nil, "another request holds it: a plain write")
        _ = machine.writeCompleted(.init(write: first), now: t0)
        #expect(machine.requestReleased(status: status, residency: .off, ifUnsaved: .askToPersist, now: t0) == .stillShared)

        session.set("a", 3)
        status = session.status()
        let last = base.persist(&machine, session)
        guard case .write(let write) = last else { Issue.record("a write expected"); return }
        #expect(write.unlock == lock(), "the last request's write takes the lock's release along")
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0, needsLock: false)) == "wait", "no request joins a hold being released")
        #expect(machine.waiterArrived(5, now: t0) == nil)
        var result = SessionLifecycle.WriteResult(write: write)
        if fails { result.failure = base.failure(nodeIsDown: true) }
        _ = machine.writeCompleted(result, now: t0)
        #expect(machine.requestReleased(status: status, residency: .off, ifUnsaved: .askToPersist, now: t0) == .remove)
        let departure = machine.departed()
        #expect(departure.unlock == (fails ? lock() : nil), "released with the write, or (the write failed) at the departure")
        #expect(departure.wake == (fails ? [] : [5]))
        if fails { #expect(machine.unlockCompleted() == [5], "woken once the lock is released") }
    }

    @Test func aLockedChangeWithASecondRequestWaitingIsWrittenOnceAndTheLockGoesWithTheLastWrite() {
        // Request 1 holds the session locked and changes it; request 2 of this node joins within
        // the quantum and waits for request 1's write of the same change; then request 2, the last,
        // releases the lock with its own (unchanged: skipped) write.
        var (machine, session) = held(lock: lock())
        #expect(SessionLifecycleTests.label(machine.requestArrived(now: t0 + .milliseconds(5), needsLock: true)) == "shared")
        session.set("a", 2)
        let generation = session.status().generation
        guard case .write(let first) = base.persist(&machine, session) else { Issue.record("request 1 writes"); return }
        #expect(first.unlock == nil, "request 2 still holds it")
        #expect(base.persist(&machine, session) == .wait)
        #expect(machine.writeWaiterArrived(2, target: generation) == nil)
        let wakes = machine.writeCompleted(.init(write: first), now: t0).wakes
        guard wakes.count == 1, case .covered = wakes[0].1 else { Issue.record("request 2 is covered"); return }
        #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        #expect(base.persist(&machine, session) == .upToDate, "nothing left to write")
        #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .remove)
        #expect(machine.departed().unlock == lock(), "released when the session leaves this node")
    }

    static func writes(_ action: Machine.PersistAction) -> Bool {
        if case .write = action { true } else { false }
    }

    @Test func readOnlyRequestIDsAreLearnedBoundedAndNeverAfterAChange() {
        let learned = ReadOnlyRequests(readOnlyLimit: 4, modifyingLimit: 4)
        #expect(learned.learn("GET /a", modified: false))
        #expect(learned.isReadOnly("GET /a"))
        #expect(learned.learn("GET /a", modified: true) == false)
        #expect(!learned.isReadOnly("GET /a"))
        #expect(learned.learn("GET /a", modified: false) == false, "once modifying, never read-only again")
        #expect(!learned.isReadOnly("GET /a"))
        for n in 0..<100 { learned.learn("GET /r\(n)", modified: false) }
        #expect(learned.readOnlyCount <= 4, "bounded")
        #expect(learned.isReadOnly("GET /r99"), "the most recent stay")
    }

    @Test func theRequestIDIsMsmsWithTheQueryOmittedForPOST() {
        #expect(SessionManager.requestID(method: "GET", path: "/app/a", query: "x=1") == "GET /app/a?x=1")
        #expect(SessionManager.requestID(method: "POST", path: "/app/a", query: "x=1") == "POST /app/a")
        #expect(SessionManager.requestID(method: "GET", path: "/app/a", query: nil) == "GET /app/a")
        #expect(SessionManager.lockToken().count == 32 && SessionManager.lockToken() != SessionManager.lockToken())
    }

    @Test func lockingModesParse() throws {
        #expect(try LockingMode(parsing: "all").locks && !(try LockingMode(parsing: "none")).locks)
        #expect(throws: SessionManagerError.self) { try LockingMode(parsing: "ALL") }
        guard case .uriPattern(_, let regex) = try LockingMode(parsing: "uriPattern:^GET /myapp/count.*") else {
            Issue.record("uriPattern")
            return
        }
        #expect(regex.matches("GET /myapp/count?x") && !regex.matches("POST /myapp/count") && !regex.matches("GET /myapp/read"))
    }
}
