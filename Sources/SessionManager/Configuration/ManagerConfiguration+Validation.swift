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
        if let problem = StoreNode.problem(withList: memcachedNodes) {
            throw ManagerConfigurationError(attribute: "memcachedNodes", problem)
        }
        if let problem = StoreNode.problem(withFailoverNodes: failoverNodes, of: memcachedNodes) {
            throw ManagerConfigurationError(attribute: "failoverNodes", problem)
        }
        try check(maxInactiveInterval >= 1, "maxInactiveInterval", "'\(maxInactiveInterval)' is not allowed; expected seconds, 1 or more")
        if let lifetime = maxSessionLifetime {
            try check(lifetime >= 1, "maxSessionLifetime", "'\(lifetime)' is not allowed; expected seconds, 1 or more")
        }
        if let limit = maxSessionsPerPrincipal {
            try check(limit >= 1, "maxSessionsPerPrincipal", "'\(limit)' is not allowed; expected a number of sessions, 1 or more")
        }
        try check(residentRevalidationInterval > .zero, "residentRevalidationInterval", "'\(residentRevalidationInterval)' is not allowed; expected a positive duration")
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
        try validateTLS()
        try validateMemcachedLogin()
    }

    /// The TLS settings: only with a TLS node, a certificate with its key, files that are PEM of
    /// the right kind, a server name that SNI can carry.
    private func validateTLS() throws(ManagerConfigurationError) {
        guard tls.isCustomised else { return }
        let attribute =
            tls.caFile != nil ? "tlsCAFile" : tls.certificateFile != nil ? "tlsCertificateFile" : tls.keyFile != nil ? "tlsKeyFile"
            : tls.serverName != nil ? "tlsServerName" : "tlsVerify"
        guard memcachedNodes.contains(where: \.endpoint.usesTLS) else {
            throw ManagerConfigurationError(
                attribute: attribute,
                "no node of memcachedNodes uses TLS; give TLS nodes as rediss://, rediss-cluster://, rediss-sentinel:// or memcacheds://host:port"
            )
        }
        if tls.certificateFile != nil, tls.keyFile == nil {
            throw ManagerConfigurationError(attribute: "tlsCertificateFile", "a client certificate needs its key: add tlsKeyFile")
        }
        if tls.keyFile != nil, tls.certificateFile == nil {
            throw ManagerConfigurationError(attribute: "tlsKeyFile", "a client key needs its certificate: add tlsCertificateFile")
        }
        func pem(_ path: String?, _ attribute: String, needs kind: String, _ holds: (PEMFile) -> Bool) throws(ManagerConfigurationError) {
            guard let path else { return }
            do {
                let file = try PEMFile(path: path)
                guard holds(file) else {
                    throw ManagerConfigurationError(
                        attribute: attribute,
                        "'\(path)' holds no \(kind) (its PEM blocks: \(file.labels.joined(separator: ", ")))"
                    )
                }
            } catch let error as PEMFileError {
                throw ManagerConfigurationError(attribute: attribute, error.message)
            } catch let error as ManagerConfigurationError {
                throw error
            } catch {
                throw ManagerConfigurationError(attribute: attribute, "\(error)")
            }
        }
        try pem(tls.caFile, "tlsCAFile", needs: "CA certificate", \.hasCertificate)
        try pem(tls.certificateFile, "tlsCertificateFile", needs: "certificate", \.hasCertificate)
        try pem(tls.keyFile, "tlsKeyFile", needs: "private key", \.hasPrivateKey)
        if let name = tls.serverName {
            let valid = !name.isEmpty && name.count <= 253
                && name.utf8.allSatisfy { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A) }
            let isAddress = name.utf8.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) }
            try check(valid && !isAddress, "tlsServerName", "'\(name)' is not allowed; expected a DNS name (SNI cannot carry an IP address; leave it out to verify nodes against their IP)")
        }
    }

    /// memcached's authentication (msm `username`, `password`): both, memcached nodes only, and
    /// words the text protocol can carry.
    private func validateMemcachedLogin() throws(ManagerConfigurationError) {
        guard username != nil || password != nil else { return }
        guard let username else { throw ManagerConfigurationError(attribute: "password", "a password needs its username") }
        guard let password else { throw ManagerConfigurationError(attribute: "username", "a username needs its password") }
        try check(
            !memcachedNodes.isEmpty && !memcachedNodes.contains(where: \.endpoint.isRedis),
            "username",
            "username and password are memcached's authentication; Redis nodes take theirs in the URL (rediss://user:password@host:port)"
        )
        try check(
            !username.isEmpty && username.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F },
            "username",
            "must be printable ASCII without spaces"
        )
        try check(
            !password.isEmpty && password.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F },
            "password",
            "must be non-empty, without control characters"
        )
    }

    private func check(_ condition: Bool, _ attribute: String, _ message: @autoclosure () -> String) throws(ManagerConfigurationError) {
        if !condition { throw ManagerConfigurationError(attribute: attribute, message()) }
    }
}
