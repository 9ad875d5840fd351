import Foundation
import SessionTesting
import Testing
@testable import SessionManager

/// The lifecycle machine driven one event at a time: no store, no lock, no task. Waiters are
/// numbers, as in the server (where the table keeps their continuations). Each test is an interleaving of concurrent requests on one session, written out.
@Suite(.capturedLog) struct SessionLifecycleTests {
    typealias Machine = SessionLifecycle
    let t0 = ContinuousClock.now
    let generator = SessionIDGenerator(jvmRoute: nil)

    /// The case of an action that carries a session (those are not `Equatable`; where the
    /// instance matters, the tests match it and compare with `===`).
    static func label(_ action: Any) -> String {
        String(String(describing: action).prefix { $0 != "(" })
    }

    func makeSession() -> (Session, SessionSnapshot) {
        let snapshot = SessionSnapshot(
            id: generator.makeID().description,
            creationTime: Date(),
            lastAccessedTime: Date(),
            maxInactiveInterval: 60,
            attributes: ["a": .int(1)]
        )
        let id = SessionID(parsing: snapshot.id)!
        return (Session(snapshot: snapshot, id: id, isNew: false, idGenerator: generator), snapshot)
    }

    func loaded(references: Int = 1) -> (Machine, Session, SessionSnapshot) {
        let (session, snapshot) = makeSession()
        var machine = Machine.loading(now: t0)
        for n in 1..<references { #expect(Self.label(machine.waiterArrived(n)) == "queued") }
        _ = machine.loadCompleted(.found(session, stored: snapshot, id: session.id), now: t0)
        return (machine, session, snapshot)
    }

    // MARK: load / wait

    @Test func theFirstRequestLoadsAndTheOthersWaitThenShareOneInstance() {
        let (session, snapshot) = makeSession()
        var machine = Machine.loading(now: t0)
        #expect(Self.label(machine.requestArrived(now: t0)) == "loading")
        #expect(Self.label(machine.waiterArrived(1)) == "queued")
        #expect(Self.label(machine.waiterArrived(2)) == "queued")
        let completion = machine.loadCompleted(.found(session, stored: snapshot, id: session.id), now: t0)
        #expect(completion.waiters == [1, 2] && completion.keepsEntry)
        guard case .active(let references) = machine.phase else { Issue.record("not active"); return }
        #expect(machine.session === session && references == 3)
    }

    @Test(arguments: [Machine.LoadOutcome.notFound, .failed])
    func aLoadThatFindsNothingOrFailsWakesTheWaitersAndDropsTheEntry(outcome: Machine.LoadOutcome) {
        var machine = Machine.loading(now: t0)
        #expect(Self.label(machine.waiterArrived(7)) == "queued")
        let completion = machine.loadCompleted(outcome, now: t0)
        #expect(completion.waiters == [7] && !completion.keepsEntry)
    }

    @Test func aWaiterArrivingAfterTheLoadSharesTheInstance() {
        var (machine, session, _) = loaded()
        guard case .use(let shared) = machine.waiterArrived(9) else { Issue.record("should share"); return }
        #expect(shared === session)
        guard case .active(let references) = machine.phase else { Issue.record("not active"); return }
        #expect(references == 2)
    }

    @Test func aWaiterArrivingAfterTheLoadAndTheLastReleaseAsksAgain() {
        // The interleaving behind a lost update once: B saw C loading, C loaded, used and released
        // the session before B queued. B must not conclude that the session does not exist.
        var (machine, session, _) = loaded()
        let release = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(release == .resident(expiry: t0 + .seconds(60)))
        #expect(Self.label(machine.waiterArrived(1)) == "askAgain")
        guard case .shared(let again) = machine.requestArrived(now: t0) else { Issue.record("should find it resident"); return }
        #expect(again === session)
    }

    @Test func anExpiredResidentSessionIsLoadedAgain() {
        var (machine, session, _) = loaded()
        _ = machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0)
        #expect(Self.label(machine.requestArrived(now: t0 + .seconds(61))) == "mustLoad")
        #expect(machine.session == nil)
    }

    // MARK: write

    @Test func aChangedSessionIsWrittenOnceAndTheOtherFinishingRequestWaitsForThatWrite() {
        var (machine, session, snapshot) = loaded(references: 2)
        session["a"] = .int(2)
        let generation = session.status().generation
        #expect(!machine.isUpToDate(target: generation, ttl: .seconds(60), now: t0))
        // Request 1 writes; request 2 finishes meanwhile with the same change.
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0) == .write(previous: snapshot, previousID: session.id))
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0) == .wait)
        #expect(machine.writeWaiterArrived(2, target: generation) == .queued)
        var written = snapshot
        written.attributes["a"] = .int(2)
        let wakes = machine.writeCompleted(.init(generation: generation, snapshot: written, id: session.id), now: t0).wakes
        #expect(wakes.count == 1 && wakes[0].0 == 2)
        guard case .covered = wakes[0].1 else { Issue.record("the write covered request 2"); return }
        #expect(machine.isUpToDate(target: generation, ttl: .seconds(60), now: t0))
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0) == .upToDate)
    }

    @Test func stickyChangesHandedToAWriteUnderWayAreWrittenByItsWriterOnce() {
        // Sticky mode, after the response: request 2 does not wait for request 1's write; its
        // change (and request 3's) is written by request 1's writer in one more write.
        var (machine, session, snapshot) = loaded(references: 3)
        session["a"] = .int(2)
        let first = session.status().generation
        #expect(machine.persistRequested(target: first, id: session.id, ttl: .seconds(60), now: t0, waits: false) == .write(previous: snapshot, previousID: session.id))
        session["a"] = .int(3)
        let second = session.status().generation
        #expect(machine.persistRequested(target: second, id: session.id, ttl: .seconds(60), now: t0, waits: false) == .handedToWriter)
        session["a"] = .int(4)
        #expect(machine.persistRequested(target: session.status().generation, id: session.id, ttl: .seconds(60), now: t0, waits: false) == .handedToWriter)
        var written = snapshot
        written.attributes["a"] = .int(2)
        let completion = machine.writeCompleted(.init(generation: first, snapshot: written, id: session.id), now: t0)
        #expect(completion.writeAgain && completion.wakes.isEmpty)
        guard case .write = machine.persistRequested(target: session.status().generation, id: session.id, ttl: .seconds(60), now: t0, waits: false) else {
            Issue.record("the writer writes the handed-over changes")
            return
        }
        written.attributes["a"] = .int(4)
        #expect(!machine.writeCompleted(.init(generation: session.status().generation, snapshot: written, id: session.id), now: t0).writeAgain)
        #expect(machine.isUpToDate(target: session.status().generation, ttl: .seconds(60), now: t0))
    }

    @Test func aFailedWriteDoesNotWriteTheHandedOverChangesAgainAtOnce() {
        struct Down: Error {}
        var (machine, session, snapshot) = loaded(references: 2)
        session["a"] = .int(2)
        let first = session.status().generation
        _ = machine.persistRequested(target: first, id: session.id, ttl: .seconds(60), now: t0, waits: false)
        session["a"] = .int(3)
        #expect(machine.persistRequested(target: session.status().generation, id: session.id, ttl: .seconds(60), now: t0, waits: false) == .handedToWriter)
        let completion = machine.writeCompleted(.init(generation: first, snapshot: snapshot, id: session.id, failure: Down()), now: t0)
        #expect(!completion.writeAgain, "the node did not answer: a retry comes later, not in a loop")
        #expect(!machine.isUpToDate(target: session.status().generation, ttl: .seconds(60), now: t0))
    }

    @Test func aChangeMadeDuringAWriteIsWrittenByTheNextWriteNotLost() {
        // The lost update fixed in afcd499: a change lands after the snapshot was taken. Its request
        // must not be told "covered" by the write of the older generation.
        var (machine, session, snapshot) = loaded(references: 2)
        session["a"] = .int(2)
        let first = session.status().generation
        _ = machine.persistRequested(target: first, id: session.id, ttl: .seconds(60), now: t0)
        session["a"] = .int(3)
        let second = session.status().generation
        #expect(machine.persistRequested(target: second, id: session.id, ttl: .seconds(60), now: t0) == .wait)
        #expect(machine.writeWaiterArrived(2, target: second) == .queued)
        let wakes = machine.writeCompleted(.init(generation: first, snapshot: snapshot, id: session.id), now: t0).wakes
        guard case .retry = wakes[0].1 else { Issue.record("an older write must not cover a newer change"); return }
        guard case .write = machine.persistRequested(target: second, id: session.id, ttl: .seconds(60), now: t0) else {
            Issue.record("the newer change must be written")
            return
        }
    }

    @Test func aFailedWriteFailsTheRequestsItCoveredAndIsTriedAgain() {
        struct Down: Error {}
        var (machine, session, snapshot) = loaded(references: 2)
        session["a"] = .int(2)
        let generation = session.status().generation
        _ = machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0)
        #expect(machine.writeWaiterArrived(2, target: generation) == .queued)
        let wakes = machine.writeCompleted(.init(generation: generation, snapshot: snapshot, id: session.id, failure: Down()), now: t0).wakes
        guard case .failed(let error) = wakes[0].1, error is Down else { Issue.record("the waiter shares the failure"); return }
        guard case .write = machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0) else {
            Issue.record("a failed write leaves the change unwritten")
            return
        }
    }

    @Test func aWriteWaiterArrivingAfterTheWriteEndedIsCoveredOrAsksAgain() {
        var (machine, session, snapshot) = loaded()
        session["a"] = .int(2)
        let generation = session.status().generation
        _ = machine.persistRequested(target: generation, id: session.id, ttl: .seconds(60), now: t0)
        _ = machine.writeCompleted(.init(generation: generation, snapshot: snapshot, id: session.id), now: t0)
        #expect(machine.writeWaiterArrived(1, target: generation) == .covered)
        #expect(machine.writeWaiterArrived(1, target: generation + 1) == .retry)
    }

    @Test func aSessionKeptBusyIsTouchedOncePerQuarterOfItsTimeToLive() {
        var (machine, session, _) = loaded()
        let generation = session.status().generation
        let ttl = Duration.seconds(60)
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: ttl, now: t0 + .seconds(15)) == .upToDate)
        #expect(!machine.isUpToDate(target: generation, ttl: ttl, now: t0 + .seconds(16)))
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: ttl, now: t0 + .seconds(16)) == .touch(session.id, ttl: ttl))
        #expect(machine.persistRequested(target: generation, id: session.id, ttl: ttl, now: t0 + .seconds(17)) == .upToDate)
    }

    @Test func aNewSessionIsWrittenWithNothingToReplace() {
        let (session, _) = makeSession()
        var machine = Machine.created(session, now: t0)
        #expect(machine.persistRequested(target: 0, id: session.id, ttl: .seconds(60), now: t0) == .write(previous: nil, previousID: nil))
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

    @Test func anInvalidatedSessionStaysSharedUntilItsLastRequestEnds() {
        var (machine, session, _) = loaded(references: 2)
        session.invalidate()
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        #expect(machine.requestReleased(status: session.status(), residency: .room, ifUnsaved: .askToPersist, now: t0) == .remove)
    }

    @Test func anIDChangeNeedsAWriteUnderTheNewIDBeforeTheSessionCanLeaveMemory() {
        var (machine, session, snapshot) = loaded()
        session.changeSessionId()
        let status = session.status()
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .persistFirst)
        #expect(machine.persistRequested(target: status.generation, id: status.id, ttl: .seconds(60), now: t0) == .write(previous: snapshot, previousID: SessionID(parsing: snapshot.id)))
    }

    // MARK: release

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
    }

    @Test func aSessionBeingWrittenIsNotSavedYetSoItCannotLeaveMemory() {
        var (machine, session, _) = loaded(references: 2)
        session["a"] = .int(2)
        let status = session.status()
        _ = machine.persistRequested(target: status.generation, id: status.id, ttl: .seconds(60), now: t0)
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .stillShared)
        #expect(machine.requestReleased(status: status, residency: .full, ifUnsaved: .askToPersist, now: t0) == .persistFirst)
    }
}
