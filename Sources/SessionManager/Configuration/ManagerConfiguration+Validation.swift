/// A ``ManagerConfiguration`` a manager refuses: the msm attribute it is about and why.
///
/// The configuration file reports it at that attribute (`file:line:column`); a program that
/// builds its configuration in Swift gets the same message from ``ManagerConfiguration/validate()``.
public struct ManagerConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `<Manager>` attribute (msm's name, or ours) the problem is about.
    public let attribute: String
    /// What is wrong and what is allowed.
    public let message: String

    /// Creates an error.
    public init(attribute: String, _ message: String) {
        self.attribute = attribute
        self.message = message
    }

    public var description: String { "<Manager> attribute '\(attribute)': \(message)" }
}

extension ManagerConfiguration {
    /// Checks what no single attribute can check alone (combinations, the node list, ranges), so
    /// that a configuration built in Swift is refused exactly as the same settings in a file are.
    /// The configuration loader and `HTTPServer` call it; call it yourself when you make a
    /// ``SessionManager`` from a configuration you built.
    /// - Throws: the first problem found, naming its attribute.
    public func validate() throws(ManagerConfigurationError) {
        func check(_ condition: Bool, _ attribute: String, _ message: @autoclosure () -> String) throws(ManagerConfigurationError) {
            if !condition { throw ManagerConfigurationError(attribute: attribute, message()) }
        }
        if let problem = StoreNode.problem(withList: memcachedNodes) {
            throw ManagerConfigurationError(attribute: "memcachedNodes", problem)
        }
        if let problem = StoreNode.problem(withFailoverNodes: failoverNodes, of: memcachedNodes) {
            throw ManagerConfigurationError(attribute: "failoverNodes", problem)
        }
        try check(maxInactiveInterval >= 1, "maxInactiveInterval", "'\(maxInactiveInterval)' is not allowed; expected seconds, 1 or more")
        try check(maxSessionSize >= 1024, "maxSessionSize", "'\(maxSessionSize)' is not allowed; expected bytes, 1024 or more")
        try check(operationTimeout > .zero, "operationTimeout", "'\(operationTimeout)' is not allowed; expected a positive duration")
        try check(sessionBackupTimeout > .zero, "sessionBackupTimeout", "'\(sessionBackupTimeout)' is not allowed; expected a positive duration")
        try check(residentSessionLimit >= 0, "residentSessionLimit", "'\(residentSessionLimit)' is not allowed; expected a number of sessions, 0 or more")
        try check(maxActiveSessions >= -1, "maxActiveSessions", "'\(maxActiveSessions)' is not allowed; expected a number of sessions, or -1 for no limit")
        try check((0...16).contains(waitForReplicas), "waitForReplicas", "'\(waitForReplicas)' is not allowed; expected a number of replicas, 0-16")
        try check(
            waitForReplicas == 0 || memcachedNodes.allSatisfy(\.endpoint.isRedis),
            "waitForReplicas",
            "replica acknowledgement is a Redis feature; these memcachedNodes are memcached"
        )
        try check(lockExpiration >= .seconds(1), "lockExpiration", "'\(lockExpiration)' is not allowed; expected seconds, 1 or more")
        try check(
            !(lockingMode.locks && sticky),
            "lockingMode",
            "locking is for non-sticky mode: add sticky=\"false\" (a sticky session is served from one app node's memory and needs no lock)"
        )
    }
}
