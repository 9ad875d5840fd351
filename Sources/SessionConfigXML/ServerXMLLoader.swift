import Foundation
import SessionHTTP
import SessionManager

/// Reads a `server.xml`-like file into a ``ServerConfiguration``.
///
/// ```xml
/// <Server>
///   <Connector port="8091" address="127.0.0.1"/>
///   <Engine jvmRoute="node1">
///     <Context path="/myapp" app="sample" sessionTimeout="30">
///       <Manager requestUriIgnorePattern=".*\.(ico|png|gif|jpg|css|js)$"/>
///     </Context>
///   </Engine>
/// </Server>
/// ```
///
/// Everything unknown or invalid is an error at start, never ignored: `file:line:column: message`,
/// naming the attribute and what is allowed. `<Manager>` attributes of msm that mean nothing
/// outside the JVM are refused with the reason, those not implemented yet with "not supported yet".
/// What the core checks (``ManagerConfiguration/validate()``) is reported at its attribute.
public struct ServerXMLLoader: Sendable {
    /// Names a `Context app="…"` may use.
    public var knownApps: Set<String>
    /// Transcoders `transcoderFactoryClass` may name.
    public var transcoders: SessionTranscoders

    /// The msm class name a `Manager className` may carry (Tomcat users copy it along).
    public static let msmClassName = "de.javakaffee.web.msm.MemcachedBackupSessionManager"

    /// msm `<Manager>` attributes that later work may implement; rejected until then.
    public static let notYetSupportedManagerAttributes: Set<String> = ["memcachedProtocol"]

    /// msm `<Manager>` attributes that mean nothing outside the JVM, with why: refused, so that a
    /// Tomcat user copying a `<Manager>` over learns what replaces them instead of guessing.
    public static let jvmOnlyManagerAttributes: [String: String] = [
        "backupThreadCount": "msm's thread pool for backups; here backups are written on the request's event loop (sessionBackupAsync), with no pool to size",
        "copyCollectionsForSerialization": "a workaround for Java collections changed while Kryo serialises them; session values here are immutable",
        "customConverter": "Kryo/XStream converter classes; here transcoderFactoryClass names a registered transcoder",
    ]

    /// Creates a loader accepting the given app names and transcoders (register your own in
    /// `transcoders` before loading).
    public init(knownApps: Set<String>, transcoders: SessionTranscoders = .standard) {
        self.knownApps = knownApps
        self.transcoders = transcoders
    }

    /// Loads and validates a file.
    public func load(contentsOf path: String) throws(ServerXMLError) -> ServerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerXMLError(file: path, line: 1, column: 1, message: "cannot read configuration file (missing or unreadable)")
        }
        return try parse(Array(data), file: path)
    }

    /// Parses and validates a document; `file` names it in errors.
    public func parse(_ bytes: [UInt8], file: String) throws(ServerXMLError) -> ServerConfiguration {
        var parser = MiniXMLParser(bytes: bytes, file: file)
        let root = try parser.parseDocument()
        return try ElementReader(file: file, knownApps: knownApps, transcoders: transcoders).server(root)
    }
}

/// Turns elements into configuration values, one element kind per method.
private struct ElementReader {
    let file: String
    let knownApps: Set<String>
    let transcoders: SessionTranscoders

    func server(_ element: XMLElementNode) throws(ServerXMLError) -> ServerConfiguration {
        guard element.name == "Server" else { throw fail(element, "root element must be <Server>, found <\(element.name)>") }
        try allow(element, attributes: [], children: ["Connector", "Engine"])
        let connectors = element.children.filter { $0.name == "Connector" }
        let engines = element.children.filter { $0.name == "Engine" }
        guard connectors.count <= 1 else { throw fail(connectors[1], "only one <Connector> is allowed") }
        guard let engineElement = engines.first else { throw fail(element, "<Server> needs an <Engine> with at least one <Context>") }
        guard engines.count == 1 else { throw fail(engines[1], "only one <Engine> is allowed") }
        let connector = try connectors.first.map { (c) throws(ServerXMLError) in try self.connector(c) } ?? ConnectorConfiguration()
        let (jvmRoute, contexts) = try engine(engineElement)
        var configuration = ServerConfiguration(connector: connector, jvmRoute: jvmRoute, contexts: contexts)
        let peers = engineElement.children.filter { $0.name == "SessionPeer" }
        guard peers.count <= 1 else { throw fail(peers[1], "only one <SessionPeer> is allowed") }
        if let peer = peers.first { configuration.peer = try sessionPeer(peer, connector: connector, contexts: contexts) }
        return configuration
    }

    func connector(_ element: XMLElementNode) throws(ServerXMLError) -> ConnectorConfiguration {
        try allow(
            element,
            attributes: ["port", "address", "maxHttpHeaderSize", "maxPostSize", "connectionTimeout", "shutdownTimeout"],
            children: []
        )
        var connector = ConnectorConfiguration()
        if let port = element.attribute("port") {
            connector.port = try integer(port, in: element, range: 0...65535, meaning: "a TCP port 0-65535 (0: any free port)")
        }
        if let address = element.attribute("address") {
            guard !address.value.isEmpty, address.value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw fail(address, in: element, "must be an IP address or host name")
            }
            connector.address = address.value
        }
        if let size = element.attribute("maxHttpHeaderSize") {
            connector.maxHttpHeaderSize = try integer(size, in: element, range: 1024...1_048_576, meaning: "bytes, 1024-1048576")
        }
        if let size = element.attribute("maxPostSize") {
            connector.maxPostSize = try integer(size, in: element, range: 0...1_073_741_824, meaning: "bytes, 0-1073741824")
        }
        if let timeout = element.attribute("connectionTimeout") {
            let ms = try integer(timeout, in: element, range: 1...86_400_000, meaning: "milliseconds, 1-86400000")
            connector.connectionTimeout = .milliseconds(ms)
        }
        if let timeout = element.attribute("shutdownTimeout") {
            let ms = try integer(timeout, in: element, range: 0...3_600_000, meaning: "milliseconds, 0-3600000")
            connector.shutdownTimeout = .milliseconds(ms)
        }
        return connector
    }

    func engine(_ element: XMLElementNode) throws(ServerXMLError) -> (String?, [ContextConfiguration]) {
        try allow(element, attributes: ["jvmRoute", "defaultHost"], children: ["Context", "SessionPeer"])
        var host = "localhost"
        if let name = element.attribute("defaultHost") {
            guard !name.value.isEmpty, name.value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw fail(name, in: element, "must be a host name")
            }
            host = name.value
        }
        var jvmRoute: String?
        if let route = element.attribute("jvmRoute") {
            guard SessionID.isJvmRoute(route.value.utf8) else {
                throw fail(route, in: element, "must be 1-64 characters of A-Z a-z 0-9 _ -")
            }
            jvmRoute = route.value
        }
        var contexts: [ContextConfiguration] = []
        for child in element.children where child.name == "Context" {
            let context = try self.context(child, host: host)
            if contexts.contains(where: { $0.path == context.path }) {
                throw fail(child, "duplicate context path '\(context.path)'")
            }
            contexts.append(context)
        }
        guard !contexts.isEmpty else { throw fail(element, "<Engine> needs at least one <Context>") }
        return (jvmRoute, contexts)
    }

    /// `<SessionPeer nodeId port [address] [maxBytes] [username password] [certificateFile keyFile]/>`:
    /// checked against the connector (not its port) and the contexts (a node of their
    /// `memcachedNodes`, listed once); off loopback it needs a login and TLS.
    func sessionPeer(_ element: XMLElementNode, connector: ConnectorConfiguration, contexts: [ContextConfiguration]) throws(ServerXMLError) -> SessionPeerConfiguration {
        try allow(element, attributes: ["nodeId", "port", "address", "maxBytes", "username", "password", "certificateFile", "keyFile"], children: [])
        guard let id = element.attribute("nodeId") else { throw fail(element, "<SessionPeer> needs nodeId, the id of this node in memcachedNodes") }
        guard let portAttribute = element.attribute("port") else { throw fail(element, "<SessionPeer> needs a port") }
        let port = try integer(portAttribute, in: element, range: 1...65535, meaning: "a TCP port 1-65535")
        guard port != connector.port else {
            throw fail(portAttribute, in: element, "is the <Connector>'s port \(connector.port); the endpoint needs a port of its own")
        }
        var peer = SessionPeerConfiguration(nodeID: id.value, port: port)
        if let address = element.attribute("address") {
            guard !address.value.isEmpty else { throw fail(address, in: element, "must be an address to listen on, such as 0.0.0.0 or 10.0.0.5") }
            peer.address = address.value
        }
        for (name, path) in [("username", \SessionPeerConfiguration.username), ("password", \.password), ("certificateFile", \.certificateFile), ("keyFile", \.keyFile)] {
            guard let attribute = element.attribute(name) else { continue }
            guard !attribute.value.isEmpty else { throw fail(attribute, in: element, "must not be empty") }
            guard name != "username" || !attribute.value.contains(" ") else { throw fail(attribute, in: element, "must not contain a space (memcached's login is 'username password')") }
            peer[keyPath: path] = attribute.value
        }
        if let refusal = peer.refusal { throw fail(element, "<SessionPeer> \(refusal)") }
        if let bytes = element.attribute("maxBytes") {
            peer.maxBytes = try integer(bytes, in: element, range: 1_048_576...68_719_476_736, meaning: "bytes, 1048576-68719476736")
        }
        let named = contexts.flatMap { $0.manager.memcachedNodes }.filter { $0.id == id.value }
        guard !named.isEmpty else {
            throw fail(id, in: element, "'\(id.value)' is no node of any context's memcachedNodes: name this node's entry there")
        }
        for node in named {
            guard case .memcached(_, let nodePort, let usesTLS) = node.endpoint else {
                throw fail(id, in: element, "'\(id.value)' is not a memcached node (host:port or memcacheds://host:port) in memcachedNodes")
            }
            guard nodePort == port else {
                throw fail(id, in: element, "'\(id.value)' names port \(nodePort) in memcachedNodes, and this endpoint listens on \(port)")
            }
            guard usesTLS == (peer.certificateFile != nil) else {
                throw fail(id, in: element, usesTLS
                    ? "'\(id.value)' is memcacheds:// (TLS) in memcachedNodes: give the endpoint certificateFile and keyFile"
                    : "the endpoint serves TLS: name '\(id.value)' memcacheds://host:port in memcachedNodes")
            }
        }
        for context in contexts {
            let selves = context.manager.memcachedNodes.filter { node in
                if case .memcached(let host, let nodePort, _) = node.endpoint { return nodePort == port && ["127.0.0.1", "::1", "localhost", peer.address].contains(host) }
                return false
            }
            if selves.count > 1 {
                throw fail(id, in: element, "the context \(context.path.isEmpty ? "/" : context.path) lists this endpoint twice (\(selves.compactMap(\.id).joined(separator: ", ")))")
            }
        }
        return peer
    }

    func context(_ element: XMLElementNode, host: String) throws(ServerXMLError) -> ContextConfiguration {
        try allow(
            element,
            attributes: ["path", "app", "sessionTimeout", "sessionCookieName", "sessionCookieSecure", "sessionCookieSameSite", "sessionCookieDomain"],
            children: ["Manager"]
        )
        guard let pathAttribute = element.attribute("path") else { throw fail(element, "<Context> needs a 'path' attribute (\"\" or /name)") }
        let path = pathAttribute.value
        let validPath = path.isEmpty
            || (path.hasPrefix("/") && !path.hasSuffix("/") && !path.contains("//")
                && path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "#") })
        guard validPath else { throw fail(pathAttribute, in: element, "must be \"\" (root) or /name, without a trailing slash") }
        guard let app = element.attribute("app") else {
            throw fail(element, "<Context> needs an 'app' attribute; known apps: \(knownApps.sorted().joined(separator: ", "))")
        }
        guard knownApps.contains(app.value) else {
            throw fail(app, in: element, "no app named '\(app.value)'; known apps: \(knownApps.sorted().joined(separator: ", "))")
        }
        var cookie = SessionCookieConfiguration()
        if let name = element.attribute("sessionCookieName") {
            guard SessionCookieConfiguration.isValidName(name.value) else { throw fail(name, in: element, "must be a cookie name (token characters, 1-64)") }
            cookie.name = name.value
        }
        if let secure = element.attribute("sessionCookieSecure") { cookie.secure = try boolean(secure, in: element) }
        if let sameSite = element.attribute("sessionCookieSameSite") {
            guard let value = SessionCookieConfiguration.SameSite.allCases.first(where: { $0.rawValue.lowercased() == sameSite.value.lowercased() }) else {
                throw fail(sameSite, in: element, "must be Strict, Lax or None")
            }
            cookie.sameSite = value
        }
        if cookie.sameSite == .none && !cookie.secure {
            throw fail(element.attribute("sessionCookieSameSite") ?? pathAttribute, in: element, "SameSite=None requires sessionCookieSecure=\"true\" (browsers reject it otherwise)")
        }
        if let domain = element.attribute("sessionCookieDomain") {
            guard !domain.value.isEmpty, domain.value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") }) else {
                throw fail(domain, in: element, "must be a domain name")
            }
            cookie.domain = domain.value
        }
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:\(path.isEmpty ? "/" : path):")
        if let timeout = element.attribute("sessionTimeout") {
            manager.maxInactiveInterval = 60 * (try integer(timeout, in: element, range: 1...525_600, meaning: "minutes, 1-525600"))
        }
        let managers = element.children
        guard managers.count <= 1 else { throw fail(managers[1], "only one <Manager> per <Context>") }
        if let managerElement = managers.first {
            try self.manager(managerElement, into: &manager, host: host, contextPath: path)
        }
        do {
            try manager.validate()
        } catch {
            // Reported at the attribute it is about (or its <Manager>, or the <Context> when the
            // problem comes from a default).
            let managerElement = managers.first
            guard let managerElement else { throw fail(element, error.description) }
            guard let attribute = managerElement.attribute(error.attribute) else { throw fail(managerElement, error.description) }
            throw fail(attribute, in: managerElement, error.message)
        }
        return ContextConfiguration(path: path, app: app.value, cookie: cookie, manager: manager)
    }

    func manager(_ element: XMLElementNode, into manager: inout ManagerConfiguration, host: String, contextPath: String) throws(ServerXMLError) {
        for attribute in element.attributes {
            if ServerXMLLoader.notYetSupportedManagerAttributes.contains(attribute.name) {
                throw fail(attribute, in: element, "not supported yet: \(attribute.name)")
            }
            if let why = ServerXMLLoader.jvmOnlyManagerAttributes[attribute.name] {
                throw fail(attribute, in: element, "means nothing outside the JVM, leave it out: \(why)")
            }
        }
        try allow(
            element,
            attributes: [
                "className", "requestUriIgnorePattern", "maxInactiveInterval", "maxSessionLifetime",
                "maxSessionsPerPrincipal", "principalLimitPolicy", "residentRevalidationInterval", "transcoderFactoryClass", "sessionAttributeFilter",
                "maxSessionSize", "memcachedNodes", "operationTimeout", "maxActiveSessions", "failoverNodes", "sticky",
                "sessionBackupAsync", "sessionBackupTimeout", "enabled", "enableStatistics", "storageKeyPrefix", "residentSessionLimit",
                "lockingMode", "lockExpiration", "lockFailure", "waitForReplicas", "username", "password",
                "tlsCAFile", "tlsCertificateFile", "tlsKeyFile", "tlsServerName", "tlsVerify",
            ],
            children: []
        )
        if let className = element.attribute("className"), className.value != ServerXMLLoader.msmClassName {
            throw fail(className, in: element, "must be \(ServerXMLLoader.msmClassName) (or left out)")
        }
        if let pattern = element.attribute("requestUriIgnorePattern"), !pattern.value.isEmpty {
            do {
                manager.requestUriIgnorePattern = try RequestURIIgnorePattern(pattern.value)
            } catch {
                throw fail(pattern, in: element, "is not a valid regular expression: \(pattern.value)")
            }
        }
        if let interval = element.attribute("maxInactiveInterval") {
            manager.maxInactiveInterval = try integer(interval, in: element, range: 1...31_536_000, meaning: "seconds, 1-31536000")
        }
        if let lifetime = element.attribute("maxSessionLifetime") {
            manager.maxSessionLifetime = try integer(lifetime, in: element, range: 1...31_536_000, meaning: "seconds, 1-31536000")
        }
        if let limit = element.attribute("maxSessionsPerPrincipal") {
            manager.maxSessionsPerPrincipal = try integer(limit, in: element, range: 1...1_000_000, meaning: "a number of sessions, 1-1000000")
        }
        if let policy = element.attribute("principalLimitPolicy") {
            guard let parsed = PrincipalLimitPolicy(rawValue: policy.value) else {
                throw fail(policy, in: element, "expected one of \(PrincipalLimitPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            manager.principalLimitPolicy = parsed
        }
        if let interval = element.attribute("residentRevalidationInterval") {
            manager.residentRevalidationInterval = .seconds(try integer(interval, in: element, range: 1...3600, meaning: "seconds, 1-3600"))
        }
        if let name = element.attribute("transcoderFactoryClass") {
            guard let transcoder = transcoders[name.value] else {
                throw fail(name, in: element, "no transcoder named '\(name.value)'; known: \(transcoders.names.joined(separator: ", "))")
            }
            manager.transcoder = transcoder
        }
        if let filter = element.attribute("sessionAttributeFilter"), !filter.value.isEmpty {
            do {
                manager.sessionAttributeFilter = try SessionAttributeFilter(filter.value)
            } catch {
                throw fail(filter, in: element, "is not a valid regular expression: \(filter.value)")
            }
        }
        if let nodes = element.attribute("memcachedNodes") {
            do {
                manager.memcachedNodes = try StoreNode.parseList(nodes.value)
            } catch let error as SessionManagerError {
                throw fail(nodes, in: element, "\(error.message); expected host:port, n1:host:port,n2:host:port, [id:]memcacheds://host:port (TLS), [id:]redis[s]://[[user]:password@]host[:port][/db], [id:]redis[s]-cluster://[[user]:password@]host:port[+host:port…] or [id:]redis[s]-sentinel://[[user]:password@]host:port[+host:port…]/<masterName>[/<db>] (rediss: TLS)")
            } catch {
                throw fail(nodes, in: element, "\(error)")
            }
        }
        if let failover = element.attribute("failoverNodes") {
            do {
                manager.failoverNodes = try StoreNode.parseFailoverList(failover.value, nodes: manager.memcachedNodes)
            } catch let error as SessionManagerError {
                throw fail(failover, in: element, error.message)
            } catch {
                throw fail(failover, in: element, "\(error)")
            }
        }
        if let sticky = element.attribute("sticky") {
            manager.sticky = try boolean(sticky, in: element)
        }
        if let async = element.attribute("sessionBackupAsync") { manager.sessionBackupAsync = try boolean(async, in: element) }
        if let timeout = element.attribute("sessionBackupTimeout") {
            manager.sessionBackupTimeout = .milliseconds(try integer(timeout, in: element, range: 1...600_000, meaning: "milliseconds, 1-600000"))
        }
        if let enabled = element.attribute("enabled") { manager.enabled = try boolean(enabled, in: element) }
        if let statistics = element.attribute("enableStatistics") { manager.enableStatistics = try boolean(statistics, in: element) }
        if let prefix = element.attribute("storageKeyPrefix") {
            do {
                manager.storageKeyPrefix = try StorageKeyPrefix.make(prefix.value, host: host, context: contextPath)
            } catch let error as SessionManagerError {
                throw fail(prefix, in: element, error.message)
            } catch {
                throw fail(prefix, in: element, "\(error)")
            }
        }
        if let timeout = element.attribute("operationTimeout") {
            let ms = try integer(timeout, in: element, range: 1...600_000, meaning: "milliseconds, 1-600000")
            manager.operationTimeout = .milliseconds(ms)
        }
        if let replicas = element.attribute("waitForReplicas") {
            manager.waitForReplicas = try integer(replicas, in: element, range: 0...16, meaning: "a number of replicas, 0-16")
        }
        if let limit = element.attribute("maxActiveSessions") {
            manager.maxActiveSessions = try integer(limit, in: element, range: -1...100_000_000, meaning: "a number of sessions, 0-100000000, or -1 for no limit")
        }
        if let limit = element.attribute("residentSessionLimit") {
            manager.residentSessionLimit = try integer(limit, in: element, range: 0...100_000_000, meaning: "a number of sessions, 0-100000000")
        }
        if let size = element.attribute("maxSessionSize") {
            manager.maxSessionSize = try integer(size, in: element, range: 1024...536_870_912, meaning: "bytes, 1024-536870912")
        }
        if let mode = element.attribute("lockingMode") {
            do {
                manager.lockingMode = try LockingMode(parsing: mode.value)
            } catch let error as SessionManagerError {
                throw fail(mode, in: element, error.message)
            } catch {
                throw fail(mode, in: element, "\(error)")
            }
        }
        if let expiration = element.attribute("lockExpiration") {
            manager.lockExpiration = .seconds(try integer(expiration, in: element, range: 1...3600, meaning: "seconds, 1-3600"))
        }
        try access(element, into: &manager)
        if let failure = element.attribute("lockFailure") {
            guard let policy = LockFailurePolicy(rawValue: failure.value) else {
                throw fail(failure, in: element, "'\(failure.value)' is not allowed; expected reject (answer 503) or proceed (go on unlocked, msm's behaviour)")
            }
            manager.lockFailure = policy
        }
    }

    /// The memcached login and the TLS settings. A file path is taken relative to the directory
    /// the server runs in, as every path of the file is; ``ManagerConfiguration/validate()`` reads the files.
    func access(_ element: XMLElementNode, into manager: inout ManagerConfiguration) throws(ServerXMLError) {
        manager.username = element.attribute("username")?.value
        manager.password = element.attribute("password")?.value
        for (name, path) in [("tlsCAFile", \StoreTLS.caFile), ("tlsCertificateFile", \.certificateFile), ("tlsKeyFile", \.keyFile)] {
            guard let attribute = element.attribute(name) else { continue }
            guard !attribute.value.isEmpty else { throw fail(attribute, in: element, "must be the path of a PEM file") }
            manager.tls[keyPath: path] = attribute.value
        }
        manager.tls.serverName = element.attribute("tlsServerName")?.value
        if let verify = element.attribute("tlsVerify") {
            guard let mode = TLSVerification(rawValue: verify.value) else {
                throw fail(
                    verify,
                    in: element,
                    "'\(verify.value)' is not allowed; expected full (chain and name, the default), noHostname (chain only) or none (no verification, tests only)"
                )
            }
            manager.tls.verify = mode
        }
    }

    // MARK: helpers

    func allow(_ element: XMLElementNode, attributes: Set<String>, children: Set<String>) throws(ServerXMLError) {
        for attribute in element.attributes where !attributes.contains(attribute.name) {
            let allowed = attributes.isEmpty ? "none" : attributes.sorted().joined(separator: ", ")
            throw fail(attribute, in: element, "unknown attribute on <\(element.name)>; allowed: \(allowed)")
        }
        for child in element.children where !children.contains(child.name) {
            let allowed = children.isEmpty ? "none" : children.sorted().map { "<\($0)>" }.joined(separator: ", ")
            throw fail(child, "unknown element <\(child.name)> inside <\(element.name)>; allowed: \(allowed)")
        }
    }

    func integer(_ attribute: XMLElementNode.Attribute, in element: XMLElementNode, range: ClosedRange<Int>, meaning: String) throws(ServerXMLError) -> Int {
        guard let value = Int(attribute.value.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw fail(attribute, in: element, "'\(attribute.value)' is not allowed; expected \(meaning)")
        }
        return value
    }

    func boolean(_ attribute: XMLElementNode.Attribute, in element: XMLElementNode) throws(ServerXMLError) -> Bool {
        switch attribute.value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw fail(attribute, in: element, "'\(attribute.value)' is not allowed; expected true or false")
        }
    }

    func fail(_ element: XMLElementNode, _ message: String) -> ServerXMLError {
        ServerXMLError(file: file, line: element.line, column: element.column, message: message)
    }

    func fail(_ attribute: XMLElementNode.Attribute, in element: XMLElementNode, _ message: String) -> ServerXMLError {
        ServerXMLError(file: file, line: attribute.line, column: attribute.column, message: "<\(element.name)> attribute '\(attribute.name)': \(message)")
    }
}
