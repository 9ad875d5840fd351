import Foundation
import SessionHTTP
import SessionManager
import SessionTesting
import Testing

@testable import SessionConfigXML

@Suite(.capturedLog) struct ServerXMLLoaderTests {
    let loader = ServerXMLLoader(knownApps: ["sample"])

    func parse(_ text: String) throws(ServerXMLError) -> ServerConfiguration {
        try loader.parse(Array(text.utf8), file: "server.xml")
    }

    /// Parses `text`, expecting an error at `line`, whose message contains every fragment.
    func expectError(_ text: String, line: Int, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(text)
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch {
            #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("server.xml:\(line):"), sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func readsAFullConfiguration() throws {
        let configuration = try parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- node 1 -->
            <Server>
              <Connector port="8091" address="0.0.0.0" maxHttpHeaderSize="8192" maxPostSize="2048" connectionTimeout="5000"/>
              <Engine jvmRoute="node1">
                <Context path="/myapp" app="sample" sessionTimeout="10" sessionCookieName="SID"
                         sessionCookieSecure="true" sessionCookieSameSite="Strict" sessionCookieDomain="example.org">
                  <Manager className="de.javakaffee.web.msm.MemcachedBackupSessionManager"
                           requestUriIgnorePattern=".*\\.(ico|png|gif|jpg|css|js)$" maxInactiveInterval="90" maxSessionLifetime="43200"/>
                </Context>
                <Context path="" app="sample"/>
              </Engine>
            </Server>
            """
        )
        #expect(configuration.connector.port == 8091)
        #expect(configuration.connector.address == "0.0.0.0")
        #expect(configuration.connector.maxHttpHeaderSize == 8192)
        #expect(configuration.connector.maxPostSize == 2048)
        #expect(configuration.connector.connectionTimeout == .seconds(5))
        #expect(configuration.jvmRoute == "node1")
        #expect(configuration.contexts.count == 2)
        let context = configuration.contexts[0]
        #expect(context.path == "/myapp")
        #expect(context.cookie == SessionCookieConfiguration(name: "SID", secure: true, sameSite: .strict, domain: "example.org"))
        #expect(context.manager.maxInactiveInterval == 90)
        #expect(context.manager.maxSessionLifetime == 43200)
        #expect(context.manager.requestUriIgnorePattern?.matches(path: "/myapp/a.png") == true)
        #expect(context.manager.storageKeyPrefix == "sm:/myapp:")
        let root = configuration.contexts[1]
        #expect(root.path == "")
        #expect(root.manager.maxInactiveInterval == 1800)
        #expect(root.manager.maxSessionLifetime == nil)
        #expect(root.manager.requestUriIgnorePattern == nil)
    }

    @Test func sessionTimeoutIsInMinutesAndManagerIntervalWins() throws {
        let a = try parse(#"<Server><Engine><Context path="/a" app="sample" sessionTimeout="2"/></Engine></Server>"#)
        #expect(a.contexts[0].manager.maxInactiveInterval == 120)
        #expect(a.connector.port == 8080)
        #expect(a.jvmRoute == nil)
    }

    @Test func unknownAttributeNamesItAndTheAllowedOnes() {
        expectError(
            """
            <Server>
              <Connector port="8080" prot="1"/>
              <Engine><Context path="/a" app="sample"/></Engine>
            </Server>
            """,
            line: 2, "'prot'", "unknown attribute", "allowed:", "port"
        )
    }

    @Test(arguments: ["70000", "-1", "abc", "", "80.5"])
    func badPort(value: String) {
        expectError(
            "<Server>\n<Connector port=\"\(value)\"/>\n<Engine><Context path=\"/a\" app=\"sample\"/></Engine></Server>",
            line: 2, "'port'", "0-65535"
        )
    }

    @Test func badRegex() {
        expectError(
            "<Server><Engine>\n<Context path=\"/a\" app=\"sample\">\n  <Manager requestUriIgnorePattern=\"(unclosed\"/>\n</Context></Engine></Server>",
            line: 3, "'requestUriIgnorePattern'", "regular expression"
        )
    }

    @Test func notYetSupportedManagerAttributesAreRejectedNotIgnored() {
        for attribute in ServerXMLLoader.notYetSupportedManagerAttributes {
            expectError(
                "<Server><Engine>\n<Context path=\"/a\" app=\"sample\">\n<Manager \(attribute)=\"x\"/></Context></Engine></Server>",
                line: 3, "not supported yet: \(attribute)"
            )
        }
    }

    @Test func jvmOnlyManagerAttributesAreRefusedWithTheReason() {
        for (attribute, why) in ServerXMLLoader.jvmOnlyManagerAttributes {
            expectError(
                "<Server><Engine>\n<Context path=\"/a\" app=\"sample\">\n<Manager \(attribute)=\"4\"/></Context></Engine></Server>",
                line: 3, "'\(attribute)'", "means nothing outside the JVM", why
            )
        }
    }

    @Test func theInitialiserTakesEverySettingInGroups() throws {
        let n1 = StoreNode(id: "n1", endpoint: .memcached(host: "a", port: 1))
        let n2 = StoreNode(id: "n2", endpoint: .memcached(host: "b", port: 2))
        let configuration = ManagerConfiguration(
            cluster: .init(memcachedNodes: [n1, n2], failoverNodes: ["n2"], sticky: false),
            locking: .init(mode: .all, expiration: .seconds(9)),
            residency: .init(residentSessionLimit: 0, maxActiveSessions: 7),
            maxInactiveInterval: 60
        )
        #expect(configuration.memcachedNodes == [n1, n2] && configuration.failoverNodes == ["n2"] && !configuration.sticky)
        #expect(configuration.lockingMode.locks && configuration.lockExpiration == .seconds(9) && configuration.lockFailure == .reject)
        #expect(configuration.residentSessionLimit == 0 && configuration.maxActiveSessions == 7 && configuration.maxInactiveInterval == 60)
        try configuration.validate()
        let xml = try manager(#"memcachedNodes="n1:a:1,n2:b:2" failoverNodes="n2" sticky="false" lockingMode="all" lockExpiration="9" residentSessionLimit="0" maxActiveSessions="7" maxInactiveInterval="60""#)
        #expect(xml.memcachedNodes == configuration.memcachedNodes && xml.lockExpiration == configuration.lockExpiration && xml.maxActiveSessions == configuration.maxActiveSessions)
        #expect(throws: ManagerConfigurationError.self) { try ManagerConfiguration(locking: .init(mode: .all)).validate() }
    }

    /// A configuration built in Swift is refused with the message the file gets, at the attribute.
    @Test(arguments: [
        (#"lockingMode="all""#, "lockingMode"),
        (#"memcachedNodes="n1:a:1,n2:b:2" failoverNodes="n3""#, "failoverNodes"),
        (#"memcachedNodes="n1:a:1" waitForReplicas="1""#, "waitForReplicas"),
    ])
    func aConfigurationBuiltInSwiftGetsTheFilesError(attributes: String, attribute: String) throws {
        var configuration = ManagerConfiguration()
        let n1 = StoreNode(id: "n1", endpoint: .memcached(host: "a", port: 1))
        switch attribute {
        case "lockingMode":
            configuration.lockingMode = .all
        case "failoverNodes":
            configuration.memcachedNodes = [n1, StoreNode(id: "n2", endpoint: .memcached(host: "b", port: 2))]
            configuration.failoverNodes = ["n3"]
        default:
            configuration.memcachedNodes = [n1]
            configuration.waitForReplicas = 1
        }
        let swiftError = #expect(throws: ManagerConfigurationError.self) { try configuration.validate() }
        #expect(swiftError?.attribute == attribute)
        let fileError = #expect(throws: ServerXMLError.self) { try manager(attributes) }
        #expect(fileError?.message == "<Manager> attribute '\(attribute)': \(swiftError?.message ?? "-")")
        #expect(fileError?.description.hasSuffix(swiftError?.description ?? "-") == true)
    }

    @Test func notXML() {
        expectError("this is not xml", line: 1, "not an XML document")
        expectError("{\"json\": true}", line: 1, "not an XML document")
        expectError("<Server>\n<Engine>\n", line: 3, "not closed")
        expectError("<Server>\n</Engine>", line: 2, "does not close <Server>")
        expectError("<Server><Engine><Context path=\"/a\" app=\"sample\"/></Engine></Server>\n<Other/>", line: 2, "after the root")
        expectError("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<Server/>", line: 1, "DOCTYPE")
        expectError("<Server a=b/>", line: 1, "quoted")
        expectError("<Server>text</Server>", line: 1, "unexpected text")
    }

    @Test func missingFileNamesTheFile() throws {
        do {
            _ = try loader.load(contentsOf: "/nonexistent/dir/server.xml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/dir/server.xml:1:"))
            #expect(error.message.contains("cannot read"))
        }
    }

    @Test func structuralErrors() {
        expectError("<Config/>", line: 1, "root element must be <Server>")
        expectError("<Server>\n<Connector/>\n</Server>", line: 1, "<Engine>")
        expectError("<Server><Engine>\n<Context path=\"/a\" app=\"nope\"/></Engine></Server>", line: 2, "no app named 'nope'", "sample")
        expectError("<Server><Engine>\n<Context app=\"sample\"/></Engine></Server>", line: 2, "'path'")
        expectError("<Server><Engine>\n<Context path=\"a\" app=\"sample\"/></Engine></Server>", line: 2, "'path'")
        expectError("<Server><Engine>\n<Context path=\"/a/\" app=\"sample\"/></Engine></Server>", line: 2, "trailing slash")
        expectError(
            "<Server><Engine>\n<Context path=\"/a\" app=\"sample\"/>\n<Context path=\"/a\" app=\"sample\"/></Engine></Server>",
            line: 3, "duplicate context path"
        )
        expectError("<Server><Engine jvmRoute=\"no de\">\n<Context path=\"/a\" app=\"sample\"/></Engine></Server>", line: 1, "'jvmRoute'")
        expectError("<Server><Engine>\n<Context path=\"/a\" app=\"sample\"><Valve/></Context></Engine></Server>", line: 2, "unknown element <Valve>")
        expectError(
            "<Server><Engine>\n<Context path=\"/a\" app=\"sample\" sessionCookieSameSite=\"None\"/></Engine></Server>",
            line: 2, "SameSite=None requires"
        )
        expectError("<Server><Engine>\n<Context path=\"/a\" app=\"sample\" sessionCookieSecure=\"yes\"/></Engine></Server>", line: 2, "true or false")
        expectError(
            "<Server><Engine>\n<Context path=\"/a\" app=\"sample\"><Manager className=\"org.apache.catalina.session.StandardManager\"/></Context></Engine></Server>",
            line: 2, "'className'"
        )
        expectError("<Server><Engine>\n<Context path=\"/a\" app=\"sample\" a=\"1\" a=\"2\"/></Engine></Server>", line: 2, "duplicate attribute")
    }

    @Test func entitiesAreDecoded() throws {
        let configuration = try parse(
            #"<Server><Engine><Context path="/a" app="sample"><Manager requestUriIgnorePattern="/x&amp;y&#x2F;.*"/></Context></Engine></Server>"#
        )
        #expect(configuration.contexts[0].manager.requestUriIgnorePattern?.pattern == "/x&y/.*")
    }

    @Test func shippedClusterFilesAreValid() throws {
        let cluster = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Samples/cluster").standardized
        for folder in ["", "nonsticky-memcached/", "sticky-memcached/", "nonsticky-redis/"] {
            for (file, port, route) in [("node1.xml", 8091, "node1"), ("node2.xml", 8092, "node2")] {
                let configuration = try loader.load(contentsOf: cluster.appendingPathComponent(folder + file).path)
                #expect(configuration.connector.port == port)
                #expect(configuration.jvmRoute == route)
                #expect(configuration.contexts.first?.path == "/myapp")
                let manager = try #require(configuration.contexts.first?.manager)
                #expect(manager.sticky == folder.hasPrefix("sticky") || folder.isEmpty, "\(folder)\(file)")
                #expect(manager.memcachedNodes.count == (folder.isEmpty ? 0 : 2), "\(folder)\(file)")
                if folder.hasPrefix("sticky") { #expect(manager.failoverNodes == [route == "node1" ? "n1" : "n2"], "its own memcached") }
            }
        }
    }

    // MARK: transcoders (issue: selectable transcoders)

    func manager(_ attributes: String, loader: ServerXMLLoader? = nil) throws -> ManagerConfiguration {
        let text = "<Server><Engine><Context path=\"/a\" app=\"sample\"><Manager \(attributes)/></Context></Engine></Server>"
        return try (loader ?? self.loader).parse(Array(text.utf8), file: "server.xml").contexts[0].manager
    }

    @Test func transcoderIsSelectedByName() throws {
        #expect(try manager("").transcoder.name == "binary")
        #expect(try manager(#"transcoderFactoryClass="json""#).transcoder.name == "json")
        #expect(try manager(#"transcoderFactoryClass="plist""#).transcoder.name == "plist")
    }

    @Test func unknownTranscoderListsTheKnownNames() {
        expectError(
            "<Server><Engine>\n<Context path=\"/a\" app=\"sample\">\n<Manager\n transcoderFactoryClass=\"de.javakaffee.web.msm.serializer.kryo.KryoTranscoderFactory\"/></Context></Engine></Server>",
            line: 4, "'transcoderFactoryClass'", "no transcoder named", "known: binary, json, plist"
        )
    }

    @Test func aRegisteredTranscoderCanBeSelected() throws {
        struct Upper: SessionTranscoder {
            let name = "upper"
            func encode(_ snapshot: SessionSnapshot) throws -> [UInt8] { [] }
            func decode(_ bytes: [UInt8]) throws -> SessionSnapshot { throw TranscoderError("no") }
            func recognizes(_ bytes: [UInt8]) -> Bool { false }
        }
        var transcoders = SessionTranscoders.standard
        try transcoders.register(Upper())
        let custom = ServerXMLLoader(knownApps: ["sample"], transcoders: transcoders)
        #expect(try manager(#"transcoderFactoryClass="upper""#, loader: custom).transcoder.name == "upper")
        #expect(throws: ServerXMLError.self) { try manager(#"transcoderFactoryClass="upper""#) }
    }

    @Test func attributeFilterAndMaxSessionSize() throws {
        let configuration = try manager(#"sessionAttributeFilter="user|cart\..*" maxSessionSize="4096""#)
        #expect(configuration.sessionAttributeFilter?.includes("cart.items") == true)
        #expect(configuration.sessionAttributeFilter?.includes("cartX") == false)
        #expect(configuration.sessionAttributeFilter?.includes("username") == false, "whole-name match")
        #expect(configuration.maxSessionSize == 4096)
        #expect(try manager("").maxSessionSize == 1_048_576)
        #expect(try manager("").sessionAttributeFilter == nil)
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager sessionAttributeFilter=\"(\"/></Context></Engine></Server>",
            line: 2, "'sessionAttributeFilter'", "regular expression"
        )
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager maxSessionSize=\"10\"/></Context></Engine></Server>",
            line: 2, "'maxSessionSize'", "1024-536870912"
        )
    }

    // MARK: stores

    @Test func memcachedNodesAndOperationTimeout() throws {
        #expect(try manager("").memcachedNodes.isEmpty, "no nodes: the memory store")
        #expect(try manager("").operationTimeout == .milliseconds(1000))
        let memcached = try manager(#"memcachedNodes="n1:127.0.0.1:11211" operationTimeout="250""#)
        #expect(memcached.memcachedNodes == [StoreNode(id: "n1", endpoint: .memcached(host: "127.0.0.1", port: 11211))])
        #expect(memcached.operationTimeout == .milliseconds(250))
        let redis = try manager(#"memcachedNodes="redis://:pw@cache:6380/2""#)
        #expect(redis.memcachedNodes.first?.endpoint == .redis(RedisURL(host: "cache", port: 6380, database: 2, password: "pw")))
    }

    @Test func badNodesNameTheAttributeAndTheForms() {
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager memcachedNodes=\"n1:host:port\"/></Context></Engine></Server>",
            line: 2, "'memcachedNodes'", "port must be 1-65535", "redis[s]://", "memcacheds://host:port"
        )
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager memcachedNodes=\"n1:a:1,n1:b:2\"/></Context></Engine></Server>",
            line: 2, "'memcachedNodes'", "node id 'n1' is given twice"
        )
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager operationTimeout=\"0\"/></Context></Engine></Server>",
            line: 2, "'operationTimeout'", "milliseconds"
        )
    }

    // MARK: limits

    @Test func maxActiveSessionsAndShutdownTimeout() throws {
        #expect(try manager("").maxActiveSessions == 100_000)
        #expect(try manager(#"maxActiveSessions="-1""#).maxActiveSessions == -1)
        #expect(try manager(#"maxActiveSessions="5000""#).maxActiveSessions == 5000)
        #expect(try manager("").residentSessionLimit == 10_000)
        #expect(try manager(#"residentSessionLimit="250""#).residentSessionLimit == 250)
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager residentSessionLimit=\"many\"/></Context></Engine></Server>",
            line: 2, "'residentSessionLimit'", "a number of sessions"
        )
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager maxActiveSessions=\"-2\"/></Context></Engine></Server>",
            line: 2, "'maxActiveSessions'", "-1 for no limit"
        )
        #expect(try parse("<Server><Engine><Context path=\"/a\" app=\"sample\"/></Engine></Server>").connector.shutdownTimeout == .seconds(10))
        let connector = try parse("<Server><Connector shutdownTimeout=\"2500\"/><Engine><Context path=\"/a\" app=\"sample\"/></Engine></Server>").connector
        #expect(connector.shutdownTimeout == .milliseconds(2500))
        expectError(
            "<Server>\n<Connector shutdownTimeout=\"soon\"/><Engine><Context path=\"/a\" app=\"sample\"/></Engine></Server>",
            line: 2, "'shutdownTimeout'", "milliseconds"
        )
    }

    // MARK: cluster nodes

    static let clusterErrors: [(String, String)] = [
        (#"memcachedNodes="n1:a:1,n2:b:2" failoverNodes="n3""#, "failover node 'n3' is not in memcachedNodes"),
        (#"memcachedNodes="n1:a:1,n2:b:2" failoverNodes="n1,n2""#, "every node is a failover node"),
        (#"memcachedNodes="n1:a:1" failoverNodes="n1""#, "with a single node there is nothing to fail over to"),
        (#"memcachedNodes="n1:a:1, n1:b:2""#, "node id 'n1' is given twice"),
        (#"memcachedNodes="n1:a:1,n2:redis://b:2""#, "all be Redis or all be memcached"),
        (#"memcachedNodes="redis://127.0.0.1:6380" tlsVerify="none""#, "no node of memcachedNodes uses TLS"),
        (#"memcachedNodes="rediss://127.0.0.1:6380" tlsVerify="off""#, "expected full (chain and name, the default), noHostname"),
        (#"memcachedNodes="rediss://127.0.0.1:6380" tlsCAFile="/nonexistent/ca.pem""#, "cannot read '/nonexistent/ca.pem'"),
        (#"memcachedNodes="rediss://127.0.0.1:6380" tlsCAFile="""#, "must be the path of a PEM file"),
        (#"memcachedNodes="rediss://127.0.0.1:6380" tlsServerName="10.0.0.1""#, "SNI cannot carry an IP address"),
        (#"memcachedNodes="rediss://127.0.0.1:6380" username="app" password="pw""#, "Redis nodes take theirs in the URL"),
        (#"memcachedNodes="memcacheds://127.0.0.1:11211" username="app""#, "a username needs its password"),
        (#"memcachedNodes="memcacheds://127.0.0.1:11211" username="a b" password="pw""#, "printable ASCII without spaces"),
        (#"memcachedNodes="rediss-sentinel://a:26379""#, "needs the master's name after the sentinels"),
        (#"memcachedNodes="rediss-cluster://a:1/2""#, "a Redis Cluster has no database"),
        (#"memcachedNodes="redis-cluster://""#, "needs host:port entries separated by '+'"),
        (#"memcachedNodes="redis-cluster://a:1++b:2""#, "needs host:port entries separated by '+'"),
        (#"memcachedNodes="redis-cluster://a:1+b""#, "'b' needs a port"),
        (#"memcachedNodes="redis-cluster://a:1+a:1""#, "names an address twice"),
        (#"memcachedNodes="redis-cluster://a:1/2""#, "a Redis Cluster has no database"),
        (#"memcachedNodes="redis-cluster://a:70000""#, "must be 1-65535"),
        (#"memcachedNodes="bad-id:redis-cluster://a:1""#, "node id 'bad-id' must be"),
        (#"memcachedNodes="redis-sentinel://a:26379""#, "needs the master's name after the sentinels"),
        (#"memcachedNodes="redis-sentinel://a:26379/""#, "the master name must be non-empty"),
        (#"memcachedNodes="redis-sentinel://a:26379/m/x""#, "Redis database 'x' must be a number"),
        (#"memcachedNodes="redis-sentinel://a:26379/m/1/2""#, "needs the master's name after the sentinels"),
        (#"memcachedNodes="n1:redis-sentinel://a:26379/m,n2:b:11211""#, "all be Redis or all be memcached"),
        (#"memcachedNodes="n1:a:1" waitForReplicas="1""#, "replica acknowledgement is a Redis feature"),
        (#"memcachedNodes="redis://a:1" waitForReplicas="17""#, "a number of replicas, 0-16"),
        (#"memcachedNodes="http://10.0.0.1:8091/pools""#, "'http://' nodes are not supported"),
        (#"sticky="maybe""#, "expected true or false"),
        (#"maxSessionsPerPrincipal="0""#, "a number of sessions, 1-1000000"),
        (#"principalLimitPolicy="kickOldest""#, "expected one of invalidateOldest, reject"),
        (#"residentRevalidationInterval="0""#, "seconds, 1-3600"),
        (#"maxSessionLifetime="0""#, "seconds, 1-31536000"),
        (#"sessionBackupTimeout="0""#, "milliseconds"),
        (#"storageKeyPrefix="host,colour""#, "unknown token 'colour'"),
        (#"storageKeyPrefix="static:a:b""#, "cannot contain ':'"),
        (#"lockingMode="all""#, #"locking is for non-sticky mode: add sticky="false""#),
        (#"sticky="false" lockingMode="sometimes""#, "expected none, all, auto or uriPattern:<regex>"),
        (#"sticky="false" lockingMode="uriPattern:(x""#, "not a valid regular expression"),
        (#"sticky="false" lockingMode="uriPattern:""#, "needs a regular expression"),
        (#"lockExpiration="0""#, "seconds, 1-3600"),
        (#"lockFailure="retry""#, "expected reject (answer 503) or proceed"),
    ]

    @Test func lockingAttributes() throws {
        let m = try manager(#"sticky="false" lockingMode="uriPattern:^GET /a/count.*" lockExpiration="12" lockFailure="proceed""#)
        guard case .uriPattern(let pattern, let regex) = m.lockingMode else {
            Issue.record("uriPattern expected")
            return
        }
        #expect(pattern == "^GET /a/count.*")
        #expect(regex.matches("GET /a/count?x=1") && !regex.matches("GET /a/read"))
        #expect(m.lockExpiration == .seconds(12) && m.lockFailure == .proceed)
        let defaults = try manager("")
        #expect(!defaults.lockingMode.locks && defaults.lockExpiration == .seconds(5) && defaults.lockFailure == .reject)
        #expect(try manager(#"sticky="false" lockingMode="auto""#).lockingMode.locks)
        #expect(try manager(#"lockingMode="none""#).lockingMode.locks == false, "none is fine with sticky")
    }

    @Test(arguments: clusterErrors)
    func clusterConfigurationErrorsNameTheFileLineAndWhy(attributes: String, message: String) {
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n  <Manager \(attributes)/></Context></Engine></Server>",
            line: 2, message
        )
    }

    @Test func aUsersSessionsAttributesAreRead() throws {
        let m = try manager(#"maxSessionsPerPrincipal="3" principalLimitPolicy="reject" residentRevalidationInterval="2""#)
        #expect(m.maxSessionsPerPrincipal == 3 && m.principalLimitPolicy == .reject && m.residentRevalidationInterval == .seconds(2))
        let defaults = try manager("")
        #expect(defaults.maxSessionsPerPrincipal == nil && defaults.principalLimitPolicy == .invalidateOldest && defaults.residentRevalidationInterval == .seconds(5))
    }

    @Test func tlsAttributesAndTheMemcachedLoginAreRead() async throws {
        let pki = try await TestCertificates.shared()
        let m = try manager(
            #"memcachedNodes="n1:rediss://10.0.0.1:6380,n2:rediss://10.0.0.2:6380" tlsCAFile="\#(pki.caFile)" "#
                + #"tlsCertificateFile="\#(pki.clientCertificateFile)" tlsKeyFile="\#(pki.clientKeyFile)" tlsServerName="sessions.internal" tlsVerify="noHostname""#
        )
        #expect(m.tls == StoreTLS(caFile: pki.caFile, certificateFile: pki.clientCertificateFile, keyFile: pki.clientKeyFile, serverName: "sessions.internal", verify: .noHostname))
        #expect(m.memcachedNodes.allSatisfy { $0.endpoint.usesTLS })
        let login = try manager(#"memcachedNodes="memcacheds://127.0.0.1:11211" username="app" password="s3cret word""#)
        #expect(login.username == "app" && login.password == "s3cret word")
        #expect(try manager(#"memcachedNodes="rediss://h:6380""#).tls == StoreTLS(), "verified against the system's CAs by default")
    }

    @Test func anUnusableTLSFileIsRefusedAtItsLineAndColumn() async throws {
        let pki = try await TestCertificates.shared()
        let text = """
            <Server><Engine><Context path="/a" app="sample">
              <Manager memcachedNodes="rediss://127.0.0.1:6380"
                  tlsCAFile="\(pki.clientKeyFile)"/>
            </Context></Engine></Server>
            """
        do {
            _ = try parse(text)
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3 && error.column == 7, "\(error)")
            #expect(error.description.hasPrefix("server.xml:3:7: <Manager> attribute 'tlsCAFile': '\(pki.clientKeyFile)' holds no CA certificate"), "\(error)")
        }
        let missingKey = "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager memcachedNodes=\"memcacheds://h:1\" tlsCertificateFile=\"\(pki.clientCertificateFile)\"/></Context></Engine></Server>"
        expectError(missingKey, line: 2, "'tlsCertificateFile'", "a client certificate needs its key: add tlsKeyFile")
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("sm-not-pem-\(UUID().uuidString)")
        try Data([0x30, 0x82, 0x01]).write(to: notPEM)
        defer { try? FileManager.default.removeItem(at: notPEM) }
        expectError(
            "<Server><Engine><Context path=\"/a\" app=\"sample\">\n<Manager memcachedNodes=\"rediss://h\" tlsCAFile=\"\(notPEM.path)\"/></Context></Engine></Server>",
            line: 2, "'tlsCAFile'", "is not a PEM file"
        )
    }

    @Test func clusterAndSentinelNodes() throws {
        let m = try manager(
            #"memcachedNodes="c1:redis-cluster://:pw@10.0.0.1:7000+10.0.0.2:7001 s1:redis-sentinel://10.0.0.5:26379+10.0.0.6:26379/sessions/2" waitForReplicas="1""#
        )
        #expect(m.memcachedNodes.map(\.id) == ["c1", "s1"])
        #expect(
            m.memcachedNodes[0].endpoint
                == .redisCluster(RedisClusterURL(seeds: [RedisAddress(host: "10.0.0.1", port: 7000), RedisAddress(host: "10.0.0.2", port: 7001)], password: "pw"))
        )
        #expect(
            m.memcachedNodes[1].endpoint
                == .redisSentinel(
                    RedisSentinelURL(sentinels: [RedisAddress(host: "10.0.0.5", port: 26379), RedisAddress(host: "10.0.0.6", port: 26379)], masterName: "sessions", database: 2)
                )
        )
        #expect(m.waitForReplicas == 1)
        #expect(try manager("").waitForReplicas == 0)
    }

    @Test func nodesWithIdsFailoverAndBackupSettings() throws {
        let m = try manager(#"memcachedNodes="n1:a:1, n2:b:2 n3:c:3" failoverNodes="n1 n3" sticky="false" sessionBackupAsync="false" sessionBackupTimeout="250" enabled="false""#)
        #expect(m.memcachedNodes.map(\.id) == ["n1", "n2", "n3"])
        #expect(m.failoverNodes == ["n1", "n3"])
        #expect(m.sticky == false && !m.sessionBackupAsync && m.sessionBackupTimeout == .milliseconds(250) && !m.enabled)
        let defaults = try manager("")
        #expect(defaults.sticky && defaults.sessionBackupAsync && defaults.sessionBackupTimeout == .milliseconds(100) && defaults.enabled)
        #expect(defaults.enableStatistics)
        #expect(try !manager(#"enableStatistics="false""#).enableStatistics)
    }

    @Test func storageKeyPrefixHasMsmsForms() throws {
        func prefix(_ value: String, host: String = "www.example.com", context: String = "/my-app") throws -> String {
            let text = "<Server><Engine defaultHost=\"\(host)\"><Context path=\"\(context)\" app=\"sample\"><Manager storageKeyPrefix=\"\(value)\"/></Context></Engine></Server>"
            return try loader.parse(Array(text.utf8), file: "server.xml").contexts[0].manager.storageKeyPrefix
        }
        #expect(try prefix("host,context") == "www.example.com:/my-app_")
        #expect(try prefix("static:x") == "x_")
        #expect(try prefix("host.hash", host: "hst") == "e93c085e_")
        #expect(try prefix("context", context: "") == "")
        #expect(try prefix("webappVersion") == "")
        #expect(try prefix("static:shop,context.hash", context: "") == "shop:e3b0c442_")
        #expect(try manager("").storageKeyPrefix == "sm:/a:", "without the attribute, as before")
    }
}
