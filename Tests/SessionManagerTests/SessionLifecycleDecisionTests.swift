import Foundation
import SessionTesting
import Testing
@testable import SessionManager

/// The lifecycle's decisions that take facts and no session state: what a load's result means
/// (relocation on read, takeover, the backup-age rewrite), where a session goes before its write,
/// and when a request's changes are written. No store.
@Suite(.capturedLog) struct SessionLifecycleDecisionTests {
    typealias Machine = SessionLifecycle

    static let id = SessionID(random: SessionIDGenerator.makeRandomPart(), nodeID: "n1", jvmRoute: "node1")

    func found(
        id: SessionID = Self.id,
        storedAs: String? = nil,
        timeout: Int = 60,
        fromBackup: Bool = false,
        movesTo: String? = nil,
        age: Double = 1
    ) -> Machine.Found {
        let snapshot = SessionSnapshot(
            id: storedAs ?? id.description,
            creationTime: Date(),
            lastAccessedTime: Date(),
            maxInactiveInterval: timeout,
            attributes: [:]
        )
        return Machine.Found(requestedID: id, snapshot: snapshot, fromBackup: fromBackup, backupNodeWhilePrimaryIsDown: movesTo, age: age, contextTimeout: 60)
    }

    func verdict(_ found: Machine.Found, route: String? = nil, backups: Bool = true) -> Machine.LoadVerdict {
        Machine.found(found, stickyRoute: route, writesBackups: backups)
    }

    // MARK: what a load found

    @Test func aCopyReadFromThePrimaryIsUsedAsStored() {
        #expect(verdict(found()) == .adopt(.init()))
    }

    @Test func aCopyWithAnotherIDInsideIsIgnored() {
        #expect(verdict(found(storedAs: "0123456789ABCDEF0123456789ABCDEF-n1")) == .anotherID)
    }

    @Test func aSessionReadFromItsBackupWhileItsNodeIsDownIsRelocatedThere() {
        #expect(verdict(found(fromBackup: true, movesTo: "n2", age: 500)) == .adopt(.init(relocateTo: "n2")))
    }

    @Test func aSessionOnlyItsBackupHadIsWrittenAgainUnlessItMayHaveExpired() {
        #expect(verdict(found(fromBackup: true, age: 30)) == .adopt(.init(keepsStoredCopy: false)), "its node lost the copy: both are written")
        #expect(verdict(found(fromBackup: true, age: 60)) == .expiredBackup, "written a whole timeout ago: it may have expired")
    }

    @Test func aBackupWrittenAQuarterOfTheTimeoutAgoIsRewritten() {
        #expect(verdict(found(age: 15)) == .adopt(.init()))
        #expect(verdict(found(age: 16)) == .adopt(.init(keepsStoredCopy: false)))
        #expect(verdict(found(age: 16), backups: false) == .adopt(.init()), "no backups: nothing to refresh")
    }

    @Test func aSessionWithItsOwnTimeoutHasItsTimeToLiveResetToIt() {
        #expect(verdict(found(timeout: 600)) == .adopt(.init(touchWithOwnTimeout: true)))
        #expect(verdict(found(timeout: 600, fromBackup: true, movesTo: "n2")) == .adopt(.init(relocateTo: "n2")), "a backup is rewritten anyway")
    }

    @Test func stickyTakesOverASessionOfAnotherAppNode() {
        #expect(verdict(found(), route: "node1") == .adopt(.init()), "its own session")
        #expect(verdict(found(), route: "node2") == .adopt(.init(takeOver: "node2")))
        #expect(
            verdict(found(fromBackup: true, movesTo: "n2"), route: "node2") == .adopt(.init(takeOver: "node2", relocateTo: "n2")),
            "taken over and relocated at once"
        )
        #expect(verdict(found(fromBackup: true), route: "node2") == .adopt(.init(takeOver: "node2", keepsStoredCopy: false)))
    }

    // MARK: where a session is written

    @Test func aSessionMadeWhileEveryNodeWasDownGetsANodeOnceOneIsUp() {
        let policy = SessionPolicy(residency: .storeOnly, residentLimit: 0, encodesNodeIDs: true)
        #expect(Machine.placement(nodeID: nil, nodeIsUp: true, available: "n2", policy: policy) == .moves(to: "n2"))
        #expect(Machine.placement(nodeID: nil, nodeIsUp: true, available: nil, policy: policy) == .memoryOnly)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: true, available: "n2", policy: policy) == .stays)
    }

    @Test func stickyMovesOffADownNodeAndNonStickyWaitsForItsWriteToFail() {
        let sticky = SessionPolicy(residency: .writeBehind, residentLimit: 10, encodesNodeIDs: true)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: false, available: "n2", policy: sticky) == .moves(to: "n2"))
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: false, available: "n1", policy: sticky) == .stays)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: false, available: nil, policy: sticky) == .stays)
        let nonSticky = SessionPolicy(residency: .storeOnly, residentLimit: 0, encodesNodeIDs: true)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: false, available: "n2", policy: nonSticky) == .stays)
        // A session on this node's failover node goes back to a primary node once one is up
        // (sticky only); while only failover nodes answer, it stays.
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: true, available: "n2", policy: sticky, nodeIsFailover: true, availableIsPrimary: true) == .moves(to: "n2"))
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: true, available: "n3", policy: sticky, nodeIsFailover: true, availableIsPrimary: false) == .stays)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: true, available: nil, policy: sticky, nodeIsFailover: true) == .stays)
        #expect(Machine.placement(nodeID: "n1", nodeIsUp: true, available: "n2", policy: nonSticky, nodeIsFailover: true, availableIsPrimary: true) == .stays)
        let noIDs = SessionPolicy(residency: .writeBehind, residentLimit: 10)
        #expect(Machine.placement(nodeID: nil, nodeIsUp: false, available: nil, policy: noIDs) == .stays)
    }

    // MARK: when a request's changes are written

    func timing(
        _ policy: SessionPolicy,
        placement: Machine.Placement = .stays,
        upToDate: Bool = false,
        clientKnowsID: Bool = true,
        draining: Bool = false,
        async: Bool = true
    ) -> Machine.WriteAtEnd {
        Machine.writeAtEnd(
            policy: policy,
            placement: placement,
            upToDate: upToDate,
            clientKnowsID: clientKnowsID,
            draining: draining,
            backupAsync: async,
            backupTimeout: .milliseconds(70)
        )
    }

    @Test func nonStickyWritesBeforeTheAnswer() {
        let policy = SessionPolicy(residency: .storeOnly, residentLimit: 0)
        #expect(timing(policy) == .beforeAnswer)
        #expect(timing(policy, upToDate: true) == .none)
        #expect(timing(policy, placement: .memoryOnly) == .none, "no node is up: it lives in memory")
    }

    @Test func aProcessLocalStoreWritesOnlyWhenTheSessionLeavesMemory() {
        #expect(timing(SessionPolicy(residency: .writeOnEviction, residentLimit: 10)) == .none)
        #expect(timing(SessionPolicy(residency: .writeOnEviction, residentLimit: 0)) == .beforeAnswer, "residency off: the store is the only copy")
    }

    @Test func stickyWritesAfterTheResponseUnlessTheClientGetsANewIDOrTheNodeDrains() {
        let policy = SessionPolicy(residency: .writeBehind, residentLimit: 10)
        #expect(timing(policy) == .afterResponse)
        #expect(timing(policy, async: false) == .beforeAnswerWithin(.milliseconds(70)))
        #expect(timing(policy, clientKnowsID: false) == .beforeAnswerKeptOnFailure, "the next request may reach another node")
        #expect(timing(policy, draining: true) == .beforeAnswerKeptOnFailure)
        #expect(timing(policy, upToDate: true) == .none)
    }
}
