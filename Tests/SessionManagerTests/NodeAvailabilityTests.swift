import Logging
import SessionTesting
import Testing

@testable import SessionManager

/// Which answers mark a store node up again (see ``NodeAvailability``).
@Suite(.capturedLog) struct NodeAvailabilityTests {
    let logger = Logger(label: "test")

    func makeAvailability() -> NodeAvailability {
        NodeAvailability(name: "n1", metrics: SessionMetrics(context: "/", enabled: false).node("n1"), logger: logger)
    }

    @Test func anAnswerToACommandSentBeforeTheFailureDoesNotMarkTheNodeUp() {
        let availability = makeAvailability()
        let sentBefore = ContinuousClock.now
        availability.failed(StoreTestError())
        #expect(!availability.isUp)
        // A reply read just after the node died, to a command sent just before: older news.
        availability.worked(startedAt: sentBefore)
        #expect(!availability.isUp, "a stale answer kept a dead node up for the next write (soak 503)")
        // A command sent after the failure that is answered: the node is back.
        availability.worked(startedAt: ContinuousClock.now)
        #expect(availability.isUp)
        #expect(availability.transitionCount == 2)
    }

    @Test func aLaterFailureMakesEarlierAnswersStale() {
        let availability = makeAvailability()
        availability.failed(StoreTestError())
        let sentBetween = ContinuousClock.now
        availability.failed(StoreTestError())  // still down: a later failure
        availability.worked(startedAt: sentBetween)
        #expect(!availability.isUp)
    }

    struct StoreTestError: Error {}
}
