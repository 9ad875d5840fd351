@testable import SessionManager
import Testing

/// Which store nodes restarted: a node that names another instance than the last time it was
/// asked (the peer endpoint's `version` line names its process).
@Suite struct NodeInstancesTests {
    @Test func aNodeRestartedWhenItNamesAnotherInstance() {
        var instances = NodeInstances()
        #expect(!instances.record("1.6.0-swift-session-peer-aaaa", for: "n1"), "the first name is no restart")
        #expect(!instances.record("1.6.18", for: "n2"))
        #expect(!instances.record("1.6.0-swift-session-peer-aaaa", for: "n1"), "the same instance")
        #expect(instances.record("1.6.0-swift-session-peer-bbbb", for: "n1"), "another instance: it restarted empty")
        #expect(!instances.record("1.6.0-swift-session-peer-bbbb", for: "n1"), "said once")
        #expect(!instances.record("1.6.18", for: "n2"), "a memcached names no instance: never a restart")
    }
}
