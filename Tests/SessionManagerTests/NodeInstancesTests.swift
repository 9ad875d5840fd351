@testable import SessionManager
import Testing

/// Which store nodes restarted: a node that names another instance than the last time it was
/// asked (the peer endpoint's `version` line names its process).
@Suite struct NodeInstancesTests {
    @Test func aNodeRestartedWhenItNamesAnotherInstance() {
        var instances = NodeInstances()
        let answers: [(String, String, Bool, Comment)] = [
            ("n1", "1.6.0-swift-session-peer-aaaa", false, "the first name is no restart"),
            ("n2", "1.6.18", false, "nor on another node"),
            ("n1", "1.6.0-swift-session-peer-aaaa", false, "the same instance"),
            ("n1", "1.6.0-swift-session-peer-bbbb", true, "another instance: it restarted empty"),
            ("n1", "1.6.0-swift-session-peer-bbbb", false, "said once"),
            ("n2", "1.6.18", false, "a memcached names no instance: never a restart"),
        ]
        for (node, name, restarted, why) in answers {
            let said = instances.record(name, for: node)
            #expect(said == restarted, why)
        }
    }
}
