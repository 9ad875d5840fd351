import SessionTesting
import Testing

@testable import SessionManager

/// `Duration.quarter` replaces `/ 4` on the request path: it must agree with it exactly.
@Suite(.capturedLog) struct DurationQuarterTests {
    @Test(arguments: [
        Duration.seconds(0), .seconds(1), .seconds(3), .seconds(7), .seconds(1800), .seconds(86_400 * 365),
        .milliseconds(10), .milliseconds(1234), .nanoseconds(3), .nanoseconds(1_000_000_001),
    ])
    func aQuarterIsTheSameAsDividingByFour(duration: Duration) {
        #expect(duration.quarter == duration / 4)
    }
}
