import SessionTesting
import Testing

@testable import SessionManager

/// The route lease's decisions, without a store (see ``RouteLease``).
@Suite(.capturedLog) struct RouteLeaseTests {
    let lock = StoreLock(key: "sm:/myapp:route:{node1}", token: Array("h 1 a".utf8))
    let other = RouteLease.Holder(host: "host-b", pid: 42, instance: "b")

    @Test func aFreeLeaseIsTakenAndThenExtended() {
        var lease = RouteLease()
        #expect(lease.usesConfiguredRoute, "before the first answer the configured route is used")
        #expect(lease.nextStep == .acquire)
        #expect(lease.received(.held(lock)) == .announceHeld(reclaimed: false))
        #expect(lease.nextStep == .extend(lock))
        #expect(lease.received(.held(lock)) == .none)
        #expect(lease.usesConfiguredRoute)
    }

    @Test func aRouteLeasedByAnotherLiveProcessIsGivenUpAndTakenBackWhenFree() {
        var lease = RouteLease()
        #expect(lease.received(.busy) == .identifyHolder)
        #expect(lease.usesConfiguredRoute, "still undecided until the holder is known")
        #expect(lease.received(.holder(other, goneFromThisHost: false)) == .announceDuplicate(other))
        #expect(!lease.usesConfiguredRoute)
        #expect(lease.nextStep == .acquire)
        // Still taken: said once, not at every round.
        #expect(lease.received(.busy) == .none)
        #expect(!lease.usesConfiguredRoute)
        // The other process stopped: the route comes back.
        #expect(lease.received(.held(lock)) == .announceHeld(reclaimed: true))
        #expect(lease.usesConfiguredRoute)
    }

    @Test func anUnreachableStoreIsNoDuplicateAndChangesNothing() {
        var lease = RouteLease()
        #expect(lease.received(.unreachable) == .none)
        #expect(lease.usesConfiguredRoute)
        _ = lease.received(.held(lock))
        #expect(lease.received(.unreachable) == .none)
        #expect(lease.nextStep == .extend(lock), "still held: refreshed once the store answers")
        #expect(lease.usesConfiguredRoute)
    }

    @Test func aLeaseLostWhileTheStoreWasAwayIsTakenAgainOrYielded() {
        var lease = RouteLease()
        _ = lease.received(.held(lock))
        #expect(lease.received(.lost) == .acquireAgain)
        #expect(lease.received(.held(lock)) == .announceHeld(reclaimed: false))

        // Lost, and meanwhile another process took it.
        #expect(lease.received(.lost) == .acquireAgain)
        #expect(lease.received(.busy) == .identifyHolder)
        #expect(lease.received(.holder(other, goneFromThisHost: false)) == .announceDuplicate(other))
        #expect(!lease.usesConfiguredRoute)
    }

    @Test func theLeaseOfThisHostsPreviousLifeIsBrokenNotReported() {
        var lease = RouteLease()
        let previous = RouteLease.Holder(host: "host-a", pid: 7, instance: "old")
        #expect(lease.received(.busy) == .identifyHolder)
        #expect(lease.received(.holder(previous, goneFromThisHost: true)) == .breakStaleLease(previous))
        #expect(lease.usesConfiguredRoute)
        #expect(lease.received(.held(lock)) == .announceHeld(reclaimed: false))
    }

    @Test func anUnreadableHolderIsStillADuplicate() {
        var lease = RouteLease()
        _ = lease.received(.busy)
        #expect(lease.received(.holder(nil, goneFromThisHost: false)) == .announceDuplicate(nil))
        #expect(!lease.usesConfiguredRoute)
    }

    @Test func aReleasedLeaseIsGivenBackAndNeverTakenAgain() {
        var lease = RouteLease()
        _ = lease.received(.held(lock))
        #expect(lease.release() == lock, "the held lock is given back at stop")
        #expect(lease.nextStep == nil)
        // A round that was under way at the stop and took the lease gives it back too.
        #expect(lease.received(.held(lock)) == .giveBack(lock))
        #expect(lease.received(.busy) == .none)
        var never = RouteLease()
        #expect(never.release() == nil)
    }

    @Test func theHolderValueRoundTrips() {
        let holder = RouteLease.Holder(host: "web-1.example", pid: 4711, instance: "k3j2h1g0f9e8")
        #expect(RouteLease.Holder(token: holder.token) == holder)
        #expect(RouteLease.Holder(token: Array("not a holder at all".utf8)) == nil)
        #expect(RouteLease.Holder(token: []) == nil)
    }

    @Test func anOwnRouteIsAValidRouteAndNewAtEachStart() {
        let routes = (0..<50).map { _ in AppNodeRoute.makeOwnRoute() }
        #expect(routes.allSatisfy { SessionID.isJvmRoute($0.utf8) && $0.utf8.count == 12 })
        #expect(Set(routes).count == routes.count)
        let route = AppNodeRoute(configured: nil)
        #expect(route.current == route.ownRoute)
        let configured = AppNodeRoute(configured: "node1")
        #expect(configured.current == "node1")
        var lease = RouteLease()
        _ = lease.received(.busy)
        _ = lease.received(.holder(other, goneFromThisHost: false))
        configured.update(from: lease)
        #expect(configured.current == configured.ownRoute)
    }
}
