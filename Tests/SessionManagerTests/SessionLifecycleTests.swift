import Foundation
import SessionTesting
import Testing
@testable import SessionManager

/// The lifecycle machine driven one event at a time: no store, no lock, no task. Waiters are
/// numbers, as in the server (where the table keeps their continuations). Each test is an
/// interleaving of concurrent requests on one session, or one decision, written out.
@Suite(.capturedLog) struct SessionLifecycleTests {
    typealias Machine = SessionLifecycle
    let t0 = ContinuousClock.now
    let generator = SessionIDGenerator(jvmRoute: nil)
    struct Down: Error {}

    /// The case of an action that carries a session (those are not `Equatable`; where the
    /// instance matters, the tests match it and compare with `===`).
    static func label(_ action: Any?) -> String {
        guard let action else { return "queued" }
        return String(String(describing: action).prefix { $0 != "(" })
    }

    func makeSession(id: SessionID? = nil) -> (Session, SessionSnapshot) {
        let id = id ?? generator.makeID()
        let snapshot = SessionSnapshot(
            id: id.description,
            creationTime: Date(),
            lastAccessedTime: Date(),
            maxInactiveInterval: 60,
            attributes: ["a": .int(1)]
        )
        return (Session(snapshot: snapshot, id: id, isNew: false, idGenerator: generator), snapshot)
    }

    func loaded(references: Int = 1) -> (Machine, Session, SessionSnapshot) {
        let (session, snapshot) = makeSession()
        var machine = Machine.loading(now: t0)
        for n in 1..<references { #expect(machine.waiterArrived(n, now: t0) == nil) }
        _ = machine.loadCompleted(.found(session, stored: snapshot, id: session.id), now: t0)
        return (machine, session, snapshot)
    }

    /// The machine's answer to a request that wants `session`'s changes stored now.
    func persist(_ machine: inout Machine, _ session: Session, target: UInt64? = nil, at now: ContinuousClock.Instant? = nil, waits: Bool = true) -> Machine.PersistAction {
        machine.persistRequested(session.capture(now: Date()), target: target, now: now ?? t0, waits: waits)
    }

    /// The write an action asks for (records an issue when it asks for none).
    func write(_ action: Machine.PersistAction) -> Machine.Write? {
        guard case .write(let write) = action else {
            Issue.record("a write expected, got \(action)")
            return nil
        }
        return write
    }

    func failure(nodeIsDown: Bool = false, available: String? = nil, relocations: Int = 0) -> Machine.WriteFailure {
        .init(error: Down(), nodeIsDown: nodeIsDown, available: available, relocations: relocations)
    }

    // MARK: load / wait

    @Test func theFirstRequestLoadsAndTheOthersWaitThenShareOneInstance() {
        let (session, snapshot) = makeSession()
        var machine = Machine.loading(now: t0)
        #expect(Self.label(machine.requestArrived(now: t0)) == "wait")
        #expect(machine.waiterArrived(1, now: t0) == nil)
        #expect(machine.waiterArrived(2, now: t0) == nil)
        let completion = machine.loadCompleted(.found(session, stored: snapshot, id: session.id), now: t0)
        #expect(completion.wakes.map(\.0) == [1, 2] && completion.keepsEntry)
        for (_, wake) in completion.wakes {
            guard case .loaded(let shared?) = wake, shared === session else { Issue.record("they share the instance"); return }
        }
        guard case .active(let references) = machine.phase else { Issue.record("not active"); return }
        #expect(machine.session === session && references == 3)
    }

    @Test(arguments: [false, true])
    func aLoadThatFindsNothingOrFailsWakesTheWaitersAndDropsTheEntry(fails: Bool) {
        var machine = Machine.loading(now: t0)
        #expect(machine.waiterArrived(7, now: t0) == nil)
        let completion = machine.loadCompleted(fails ? .failed(Down()) : .notFound, now: t0)
        #expect(completion.wakes.map(\.0) == [7] && !completion.keepsEntry)
        switch completion.wakes[0].1 {
        case .failed(let error): #expect(fails && error is Down)
        case .loaded(nil): #expect(!fails)
        default: Issue.record("unexpected wake")
        }
    }

    @Test func aWaiterArrivingAfterTheLoadSharesTheInstance() {
        var (machine, session, _) = loaded()
        guard case .loaded(let shared?) = machine.waiterArrived(9, now: t0) else { Issue.record("should share"); return }
        #expect(shared === session)
        guard case .active(let references) = machine.phase else { Issue.record("not active"); return }
        #expect(references == 2)
    }

    @Test func aWaiterArrivingAfterTheLoadAndTheLastReleaseLooksAgain() {
        // The interleaving behind a lost update once: B saw C loading, C loaded, used and released
        // the session before B queued. B must not conclude that the session does not exist.
        var (machine, session, _) = loaded()
        let release = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(release == .resident(expiry: t0 + .seconds(60)))
        #expect(Self.label(machine.waiterArrived(1, now: t0)) == "lookAgain")
        guard case .shared(let again) = machine.requestArrived(now: t0) else { Issue.record("should find it resident"); return }
        #expect(again === session)
    }

    @Test func anExpiredResidentSessionIsLoadedAgain() {
        var (machine, session, _) = loaded()
        _ = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(!machine.isExpired(now: t0 + .seconds(59)) && machine.isExpired(now: t0 + .seconds(60)))
        #expect(Self.label(machine.requestArrived(now: t0 + .seconds(61))) == "load")
        #expect(machine.session == nil)
    }

    @Test func aResidentCopyIsNotServedToARequestWhoseIDNamesAnotherAppNode() {
        // Sticky ping-pong: the balancer sent the user to another node, which changed the session;
        // back here, the resident copy may be stale, so it is loaded again (and taken over).
        var (machine, session, _) = loaded()
        _ = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(Self.label(machine.requestArrived(now: t0, namesAnotherAppNode: true)) == "load")
        #expect(machine.session == nil)
    }

    // MARK: write

    @Test func aChangedSessionIsWrittenOnceAndTheOtherFinishingRequestWaitsForThatWrite() throws {
        var (machine, session, snapshot) = loaded(references: 2)
        session["a"] = .int(2)
        let generation = session.status().generation
        #expect(!machine.isUpToDate(target: generation, ttl: .seconds(60), now: t0))
        // Request 1 writes; request 2 finishes meanwhile with the same change.
        let written = try #require(write(persist(&machine, session)))
        #expect(written.previous == snapshot && written.previousID == session.id && written.generation == generation && written.unlock == nil)
        #expect(written.snapshot.attributes["a"] == .int(2))
        #expect(persist(&machine, session) == .wait)
        #expect(machine.writeWaiterArrived(2, target: generation) == nil)
        let wakes = machine.writeCompleted(.init(write: written), now: t0).wakes
        #expect(wakes.count == 1 && wakes[0].0 == 2)
        guard case .covered = wakes[0].1 else { Issue.record("the write covered request 2"); return }
        #expect(machine.isUpToDate(target: generation, ttl: .seconds(60), now: t0))
        #expect(persist(&machine, session) == .upToDate)
    }

    @Test func stickyChangesHandedToAWriteUnderWayAreWrittenByItsWriterOnce() throws {
        // Sticky mode, after the response: request 2 does not wait for request 1's write; its
        // change (and request 3's) is written by request 1's writer in one more write.
        var (machine, session, _) = loaded(references: 3)
        session["a"] = .int(2)
        let first = try #require(write(persist(&machine, session, waits: false)))
        session["a"] = .int(3)
        #expect(persist(&machine, session, waits: false) == .handedToWriter)
        session["a"] = .int(4)
        #expect(persist(&machine, session, waits: false) == .handedToWriter)
        let completion = machine.writeCompleted(.init(write: first), now: t0)
        #expect(completion.next == .writeAgain && completion.wakes.isEmpty)
        let second = try #require(write(persist(&machine, session, waits: false)))
        #expect(second.snapshot.attributes["a"] == .int(4), "the writer writes the handed-over changes")
        #expect(machine.writeCompleted(.init(write: second), now: t0).next == .done)
        #expect(machine.isUpToDate(target: session.status().generation, ttl: .seconds(60), now: t0))
    }

    @Test func aFailedWriteDoesNotWriteTheHandedOverChangesAgainAtOnce() throws {
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let first = try #require(write(persist(&machine, session, waits: false)))
        session["a"] = .int(3)
        #expect(persist(&machine, session, waits: false) == .handedToWriter)
        let completion = machine.writeCompleted(.init(write: first, failure: failure()), now: t0)
        #expect(completion.next == .done, "the node did not answer: a retry comes later, not in a loop")
        #expect(!machine.isUpToDate(target: session.status().generation, ttl: .seconds(60), now: t0))
    }

    @Test func aChangeMadeDuringAWriteIsWrittenByTheNextWriteNotLost() throws {
        // The lost update fixed in afcd499: a change lands after the snapshot was taken. Its request
        // must not be told "covered" by the write of the older generation.
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let first = try #require(write(persist(&machine, session)))
        session["a"] = .int(3)
        let second = session.status().generation
        #expect(persist(&machine, session) == .wait)
        #expect(machine.writeWaiterArrived(2, target: second) == nil)
        let wakes = machine.writeCompleted(.init(write: first), now: t0).wakes
        guard case .retry = wakes[0].1 else { Issue.record("an older write must not cover a newer change"); return }
        let next = try #require(write(persist(&machine, session, target: second)))
        #expect(next.snapshot.attributes["a"] == .int(3) && next.previous == first.snapshot, "the newer change is written")
    }

    @Test func aFailedWriteFailsTheRequestsItCoveredAndIsTriedAgain() throws {
        // A write failure while another request waits for it: the waiter shares the failure (its
        // answer must not claim a stored change), and the change stays unwritten for the next try.
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let generation = session.status().generation
        let written = try #require(write(persist(&machine, session)))
        #expect(machine.writeWaiterArrived(2, target: generation) == nil)
        let wakes = machine.writeCompleted(.init(write: written, failure: failure()), now: t0).wakes
        guard case .failed(let error) = wakes[0].1, error is Down else { Issue.record("the waiter shares the failure"); return }
        #expect(write(persist(&machine, session)) != nil, "a failed write leaves the change unwritten")
    }

    @Test func aWriteWaiterArrivingAfterTheWriteEndedIsCoveredOrAsksAgain() throws {
        var (machine, session, _) = loaded()
        session["a"] = .int(2)
        let generation = session.status().generation
        let written = try #require(write(persist(&machine, session)))
        _ = machine.writeCompleted(.init(write: written), now: t0)
        #expect(Self.label(machine.writeWaiterArrived(1, target: generation)) == "covered")
        #expect(Self.label(machine.writeWaiterArrived(1, target: generation + 1)) == "retry")
    }

    @Test func aSessionKeptBusyIsTouchedOncePerQuarterOfItsTimeToLive() {
        var (machine, session, _) = loaded()
        let generation = session.status().generation
        let ttl = Duration.seconds(60)
        #expect(persist(&machine, session, at: t0 + .seconds(15)) == .upToDate)
        #expect(!machine.isUpToDate(target: generation, ttl: ttl, now: t0 + .seconds(16)))
        #expect(persist(&machine, session, at: t0 + .seconds(16)) == .touch(session.id, ttl: ttl))
        #expect(persist(&machine, session, at: t0 + .seconds(17)) == .upToDate)
    }

    @Test func aTouchThatFindsNoCopyHasTheSessionWrittenAgain() throws {
        var (machine, session, _) = loaded()
        #expect(persist(&machine, session, at: t0 + .seconds(16)) == .touch(session.id, ttl: .seconds(60)))
        machine.storeLostCopy()
        let written = try #require(write(persist(&machine, session, at: t0 + .seconds(16))))
        #expect(written.previous == nil)
    }

    @Test func aNewSessionIsWrittenWithNothingToReplace() throws {
        let (session, _) = makeSession()
        var machine = Machine.created(session, now: t0)
        let written = try #require(write(persist(&machine, session, target: 0)))
        #expect(written.previous == nil && written.previousID == nil)
    }

    // MARK: relocation after a failed write

    @Test func aWriteWhoseNodeDiedMovesTheSessionOnceAndWritesItThere() throws {
        var (machine, session, _) = loaded()
        session["a"] = .int(2)
        let first = try #require(write(persist(&machine, session)))
        let completion = machine.writeCompleted(.init(write: first, failure: failure(nodeIsDown: true, available: "n2")), now: t0)
        #expect(completion.next == .moveAndWriteAgain(toStoreNode: "n2"), "its node stopped answering under the request: it moves, as a read would move it")
        session.relocate(toNode: "n2")  // what the executor does
        let second = try #require(write(persist(&machine, session)))
        #expect(second.id.nodeID == "n2" && second.previousID == first.previousID, "written under the new id, the old copy deleted")
        let again = machine.writeCompleted(.init(write: second, failure: failure(nodeIsDown: true, available: "n3", relocations: 1)), now: t0)
        #expect(again.next == .done, "once per writer")
    }

    @Test(arguments: [(false, "n2"), (true, nil)] as [(Bool, String?)])
    func aWriteThatFailedForAnotherReasonOrWithNowhereToGoIsNotRelocated(nodeIsDown: Bool, available: String?) throws {
        var (machine, session, _) = loaded()
        session["a"] = .int(2)
        let written = try #require(write(persist(&machine, session)))
        let completion = machine.writeCompleted(.init(write: written, failure: failure(nodeIsDown: nodeIsDown, available: available)), now: t0)
        #expect(completion.next == .done)
    }

    // MARK: invalidate and id change

    @Test func anInvalidationDeletesTheStoredCopyOnceAndEveryRetiredID() {
        var (machine, session, _) = loaded()
        let stored = session.id
        let newID = session.changeSessionId()
        let retired = session.withState { $0.retiredIDs }
        #expect(retired == [stored])
        #expect(machine.deleteRequested(retiredIDs: retired) == [stored])
        #expect(machine.deleteRequested(retiredIDs: []) == [])
        #expect(newID != stored)
    }

    @Test func anInvalidationDuringAWriteDeletesTheCopyThatWriteLeavesAndNothingIsWrittenAfter() throws {
        // Request 1 writes; request 2 invalidates the session meanwhile and deletes its keys. The
        // write may land after that delete: its copy is deleted too, and no later write brings
        // the session back.
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let written = try #require(write(persist(&machine, session, waits: false)))
        session["a"] = .int(3)
        #expect(persist(&machine, session, waits: false) == .handedToWriter)
        session.invalidate()
        #expect(machine.deleteRequested(retiredIDs: []) == [session.id])
        #expect(persist(&machine, session) == .upToDate, "an invalidated session is never written")
        let completion = machine.writeCompleted(.init(write: written), now: t0)
        #expect(completion.deleteWritten == written.id)
        #expect(completion.next == .done, "the handed-over change is not written")
    }

    @Test func anInvalidatedSessionStaysSharedUntilItsLastRequestEnds() {
        var (machine, session, _) = loaded(references: 2)
        session.invalidate()
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .remove)
    }

    @Test func anIDChangeNeedsAWriteUnderTheNewIDBeforeTheSessionCanLeaveMemory() throws {
        var (machine, session, snapshot) = loaded()
        session.changeSessionId()
        let status = session.status()
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .persistFirst)
        let written = try #require(write(persist(&machine, session)))
        #expect(written.previous == snapshot && written.previousID == SessionID(parsing: snapshot.id) && written.id == status.id)
    }

    // MARK: release and eviction

    @Test func releaseDecisionsFollowResidencyAndWhatTheStoreHolds() {
        // Unchanged, residency off: removed (the store has it).
        var (machine, session, _) = loaded()
        #expect(machine.requestReleased(status: session.status(), residency: .off, ifUnsaved: .askToPersist, now: t0) == .remove)
        // Changed, resident set full: write first; after a refused write, dropped.
        (machine, session, _) = loaded()
        session["a"] = .int(5)
        #expect(machine.requestReleased(status: session.status(), residency: .full, ifUnsaved: .askToPersist, now: t0) == .persistFirst)
        #expect(machine.requestReleased(status: session.status(), residency: .full, ifUnsaved: .drop, now: t0) == .remove)
        // Unchanged, resident set full: it leaves memory, the store has it.
        (machine, session, _) = loaded()
        #expect(machine.requestReleased(status: session.status(), residency: .full, ifUnsaved: .askToPersist, now: t0) == .remove)
        // Changed, room: stays resident, unwritten (the resident copy is the primary).
        (machine, session, _) = loaded()
        session["a"] = .int(6)
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .resident(expiry: t0 + .seconds(60)))
        // Sticky, full, nothing could be evicted: it stays anyway (memory holds the primary copy).
        (machine, session, _) = loaded()
        session["a"] = .int(7)
        #expect(machine.requestReleased(status: session.status(), residency: .keptBeyondLimit, ifUnsaved: .askToPersist, now: t0) == .resident(expiry: t0 + .seconds(60)))
    }

    /// Invalidated by principal on another node: a copy in use stays until released, a resident
    /// one leaves, and neither is ever written again (a change made meanwhile included).
    @Test func aSessionInvalidatedElsewhereIsNeverWrittenAgain() {
        var (machine, session, _) = loaded()
        #expect(machine.invalidatedElsewhere() == .staysUntilReleased)
        session["a"] = .int(2)
        #expect(persist(&machine, session) == .upToDate, "its copies are deleted: a write would bring it back")
        (machine, session, _) = loaded()
        session["a"] = .int(3)
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .resident(expiry: t0 + .seconds(60)))
        #expect(machine.invalidatedElsewhere() == .leave)
        #expect(persist(&machine, session) == .upToDate)
    }

    @Test func aSessionBeingWrittenIsNotSavedYetSoItCannotLeaveMemory() {
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let status = session.status()
        _ = persist(&machine, session)
        #expect(!machine.isSaved(status), "a full sticky set does not evict it")
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .persistFirst)
    }

    @Test func aResidentSessionMayBeEvictedOnceItsLatestStateIsStored() throws {
        var (machine, session, _) = loaded()
        session["a"] = .int(2)
        _ = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(!machine.isSaved(session.status()), "written behind: not yet")
        let written = try #require(write(persist(&machine, session, waits: false)))
        #expect(!machine.isSaved(session.status()), "under way")
        _ = machine.writeCompleted(.init(write: written), now: t0)
        #expect(machine.isSaved(session.status()))
        session["a"] = .int(3)
        #expect(!machine.isSaved(session.status()), "changed since")
    }

    @Test func theResidentSetMakesRoomAsThePolicySays() {
        let sticky = SessionPolicy(residency: .writeBehind, residentLimit: 2)
        #expect(sticky.residency(residentCount: 1, mustStay: false) == .room)
        #expect(sticky.residency(residentCount: 2, mustStay: false) == .keptBeyondLimit)
        #expect(sticky.makesRoomBySavedSessions)
        let local = SessionPolicy(residency: .writeOnEviction, residentLimit: 2)
        #expect(local.residency(residentCount: 2, mustStay: false) == .full)
        #expect(local.residency(residentCount: 2, mustStay: true) == .room, "no store node: memory is its only copy")
        #expect(!local.makesRoomBySavedSessions)
        #expect(SessionPolicy(residency: .storeOnly, residentLimit: 0).residency(residentCount: 0, mustStay: false) == .off)
    }
}
